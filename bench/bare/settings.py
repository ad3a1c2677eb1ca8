"""Minimal Django settings for the bare endpoint (no apps, no middleware, no database)."""

from __future__ import annotations

import os

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "bench-bare-not-secret")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare.views"
WSGI_APPLICATION = "bench.bare.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
