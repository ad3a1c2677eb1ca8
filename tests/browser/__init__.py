"""Browser tests: Playwright (sync API) driving Debian's Chromium against the live server."""
