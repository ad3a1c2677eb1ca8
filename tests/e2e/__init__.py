"""End-to-end tests: the real web server, Celery worker and beat, Redis and PostgreSQL, a fake
Mixpanel, and the official Segment client (issue 4, "Done when")."""
