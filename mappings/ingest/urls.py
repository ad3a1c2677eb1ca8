"""Routes of the Tracking API (spec §2.1), served from the host root.

Regexes accept one optional trailing slash, so ``APPEND_SLASH`` never redirects (clients treat
a 3xx as failure or, worse, as delivered). The catch-all comes last: every other ``/v1`` path
is a JSON ``404``, and because it matches, ``CommonMiddleware`` never tries a slash redirect.
"""

from __future__ import annotations

from django.urls import re_path

from mappings.ingest import views

_SEGMENTS = "track|t|identify|i|page|p|screen|s|group|g|alias|a|batch|b|import"

urlpatterns = [
    re_path(rf"^v1/(?P<segment>{_SEGMENTS})/?$", views.ingest, name="ingest"),
    re_path(r"^v1/forward/?$", views.forward, name="ingest-forward"),
    re_path(r"^v1/m/?$", views.telemetry, name="ingest-telemetry"),
    re_path(
        r"^v1/projects/(?P<write_key>[^/]+)/settings/?$",
        views.project_settings,
        name="ingest-settings",
    ),
    re_path(r"^v1(?:/.*)?$", views.unknown, name="ingest-unknown"),
]
