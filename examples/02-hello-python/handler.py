import os

from slugify import slugify  # python-slugify, from requirements.txt


def handle(req):
    """GET /fn/default/hello-python?name=Ada -> {"message": "Hello, Ada", "slug": "ada", "runtime": "python"}"""
    if req.method == "POST":
        try:
            body = req.json()
        except ValueError as e:
            return {"error": f"the request body is not valid JSON: {e}"}, 400
        return {"echo": body, "runtime": "python"}
    name = req.query.get("name", ["world"])[0]
    return {"message": f"{os.environ.get('GREETING', 'Hello')}, {name}", "slug": slugify(name), "runtime": "python"}
