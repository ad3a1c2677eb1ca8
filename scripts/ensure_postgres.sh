#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster when nothing answers on 127.0.0.1:5432 (CI machines).
set -euo pipefail
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null 2>&1; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
for _ in $(seq 50); do pg_isready -h 127.0.0.1 -p 5432 -q && exit 0; sleep 0.2; done
echo "PostgreSQL is not answering on 127.0.0.1:5432." >&2
exit 1
