import os


def handle(req):
    """GET /fn/default/hello-python?name=Ada -> {"message": "Hello, Ada", "runtime": "python"}"""
    if req.method == "POST":
        return {"echo": req.json(), "runtime": "python"}
    name = req.query.get("name", ["world"])[0]
    return {"message": f"{os.environ.get('GREETING', 'Hello')}, {name}", "runtime": "python"}
