#!/usr/bin/env bash
# Start a local Redis when none answers at REDIS_URL (default redis://127.0.0.1:6379/0).
set -euo pipefail
url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
hostport="${url#redis://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=6379
ping() { python3 - "$host" "$port" <<'PY'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
    s.sendall(b"PING\r\n"); ok = s.recv(16).startswith(b"+PONG"); s.close()
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
}
if ping; then exit 0; fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "No Redis answers at $url and redis-server is not installed." >&2
  echo "Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)," >&2
  echo "or point REDIS_URL at a running Redis." >&2
  exit 1
fi
mkdir -p var/redis
redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
  --dir "$(pwd)/var/redis" --logfile "$(pwd)/var/redis/redis.log"
for _ in $(seq 50); do ping && { echo "Started redis-server on $host:$port."; exit 0; }; sleep 0.1; done
echo "redis-server did not come up on $host:$port (see var/redis/redis.log)." >&2
exit 1
