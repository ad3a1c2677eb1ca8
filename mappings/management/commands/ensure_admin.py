"""Make sure someone can sign in: used by ``make run`` on every start.

* ``DJANGO_SUPERUSER_USERNAME`` and ``DJANGO_SUPERUSER_PASSWORD`` set: that account exists as a
  superuser with that password (created or updated).
* Otherwise, when no superuser exists yet: create ``admin`` with a random password and print it
  once (it is not stored anywhere in clear text).
* Otherwise: say which accounts can sign in.
"""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create or update the admin account used to sign in to the console."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if username and password:
            user, created = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            verb = "Created" if created else "Updated"
            self.stdout.write(f"{verb} admin {username!r} (password from DJANGO_SUPERUSER_PASSWORD).")
            return
        admins = list(User.objects.filter(is_superuser=True).values_list("username", flat=True))
        if admins:
            names = ", ".join(repr(name) for name in admins)
            self.stdout.write(f"Sign in with your admin account ({names}).")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", password=password)
        self.stdout.write(
            "Created admin account 'admin' with password: "
            f"{password}\n(shown once; set DJANGO_SUPERUSER_PASSWORD to choose your own)"
        )
