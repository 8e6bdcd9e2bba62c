import os


def handle(req):
    """Dependency-free, so it runs from a ConfigMap in a cluster (no Build kind yet): GET ?name=Ada."""
    return {"message": f"{os.environ.get('GREETING', 'Hello')}, {req.query.get('name', ['world'])[0]}", "runtime": "python"}
