"""The Celery app, wired the canonical Celery-with-Django way.

Configuration comes from Django settings prefixed ``CELERY_``; tasks are discovered in each
installed app's ``tasks`` module.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segmix_site.settings")

app = Celery("segmix")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
