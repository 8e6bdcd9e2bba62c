from slugify import slugify  # python-slugify, pinned in requirements.txt


def handle(req):
    """A Plinth function: req has method, path, query, headers, body, text(), json()."""
    name = req.query.get("name", ["world"])[0]
    return {"function": "__NAME__", "runtime": "python", "message": f"Hello, {name}", "slug": slugify(name)}
