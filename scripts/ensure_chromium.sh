#!/usr/bin/env bash
# Browser tests drive Debian's chromium with Playwright (Playwright cannot download browsers
# here). Install it when missing and we are root; otherwise say how.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The browser tests need Chromium at /usr/bin/chromium: sudo apt-get install chromium" >&2
exit 1
