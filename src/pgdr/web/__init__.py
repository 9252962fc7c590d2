"""The dashboard and its JSON API, served by the daemon's process (Starlette on uvicorn).

``auth`` (token / basic auth, pure) · ``app`` (routes; read-only) · ``server`` (uvicorn in a
thread on a socket bound up front) · ``static/`` (the page, its script and style: every asset
is served from the package, nothing comes from the internet).
"""
