"""The smallest WSGI app that says which instance answered."""

import os


def app(environ, start_response):
    body = "served by {} (pid {})\n".format(
        os.environ.get("PROJ_PROCESS", "?")
        + ("" if os.environ.get("PROJ_INSTANCE") is None else "." + os.environ["PROJ_INSTANCE"]),
        os.getpid(),
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
