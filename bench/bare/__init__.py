"""The floor segmix's ingest is compared with: Django + gunicorn that only parses and pushes.

``gunicorn bench.bare.wsgi`` serves one view, ``POST /v1/batch``: read the body, parse it with
orjson, ``LPUSH`` the raw body to Redis, answer ``{"success": true}``. No middleware, no
database, no authentication: what any Python ingest endpoint pays at least.
"""
