#!/usr/bin/env bash
# `make run`: web server + Celery worker (with the periodic scheduler embedded) on the embedded
# defaults. Ctrl-C stops both.
set -euo pipefail
PY=.venv/bin/python
HOST="${SEGMIX_HOST:-127.0.0.1}"; PORT="${SEGMIX_PORT:-8000}"
scripts/ensure_redis.sh
$PY manage.py migrate --noinput
$PY manage.py ensure_admin
.venv/bin/celery -A segmix_site worker --beat --loglevel=INFO --concurrency=2 \
  --schedule var/celerybeat-schedule &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
echo
echo "segmix is running: http://$HOST:$PORT/  (sign in with the admin account above; Ctrl-C stops web and worker)"
echo
$PY manage.py runserver "$HOST:$PORT"
