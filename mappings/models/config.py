"""Sources, destinations and mappings (the configuration), and their history.

A Source is what Segment libraries send to (one write key). A Destination is one Mixpanel project
(settings + credentials) fed by one or more sources. A Mapping is one subscription: an FQL trigger,
an action id and a mapping-kit mapping. Delivery state lives in ``pipeline_models``.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.db import models
from django.utils import timezone

from .. import crypto
from .fields import OrderedJSONField


def new_write_key() -> str:
    """A fresh write key: 32 URL-safe random characters (public by design, like Segment's)."""
    return secrets.token_urlsafe(24)


class Source(models.Model):
    name = models.CharField(max_length=200, unique=True)
    # Stored as given: write keys are public (embedded in web pages), the console shows them and
    # config export carries them. They route data and control abuse; they are not secrets.
    write_key = models.CharField(max_length=200, unique=True, default=new_write_key)
    enabled = models.BooleanField(default=True)
    # Optional shared secret for /v1/forward signatures (X-Signature, HMAC-SHA1), as a Fernet
    # token: unlike the write key it is a secret. Empty = forwarded requests are not signed.
    encrypted_forward_secret = models.TextField(blank=True, default="")
    # Per-source rate limits (spec §6.4); null = the SEGMIX_RATE_LIMIT_* defaults.
    rate_limit_requests = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_messages = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def write_key_prefix(self) -> str:
        return self.write_key[:6]

    def forward_secret(self) -> str:
        """The /v1/forward signing secret in clear, or "" when forwarding is unsigned."""
        if not self.encrypted_forward_secret:
            return ""
        return crypto.decrypt(self.encrypted_forward_secret)

    def set_forward_secret(self, secret: str) -> None:
        self.encrypted_forward_secret = crypto.encrypt(secret) if secret else ""


class Destination(models.Model):
    KIND_MIXPANEL = "mixpanel"
    KIND_CHOICES = [(KIND_MIXPANEL, "Mixpanel (Actions)")]

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40, choices=KIND_CHOICES, default=KIND_MIXPANEL)
    enabled = models.BooleanField(default=False)
    sources = models.ManyToManyField(Source, related_name="destinations", blank=True)
    # Non-secret settings with Segment's keys (projectToken, apiRegion, …).
    settings = OrderedJSONField(default=dict, blank=True)
    # Secret settings (apiSecret, serviceAccountSecret) as one Fernet token over their JSON.
    encrypted_secrets = models.TextField(blank=True, default="")
    # Set when Mixpanel rejected the credentials (401/403): nothing is dequeued until cleared.
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # Settings and secrets -------------------------------------------------------------------

    def secret_values(self) -> dict[str, str]:
        if not self.encrypted_secrets:
            return {}
        return json.loads(crypto.decrypt(self.encrypted_secrets))

    def all_settings(self) -> dict[str, Any]:
        """Every setting, secrets decrypted: only for building requests, never for display."""
        return {**self.settings, **self.secret_values()}

    def set_all_settings(self, raw: dict[str, Any]) -> None:
        """Store ``raw`` (Segment's keys), splitting secrets out into the encrypted column.

        Callers validate first (``settings_schema.validate_settings``). Empty secrets are dropped.
        """
        from ..destinations.mixpanel.settings_schema import SECRET_KEYS

        plain = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
        hidden = {k: v for k, v in raw.items() if k in SECRET_KEYS and v not in (None, "")}
        self.settings = plain
        self.encrypted_secrets = crypto.encrypt(json.dumps(hidden)) if hidden else ""

    def secret_keys_set(self) -> list[str]:
        """Names of the secrets that are set (for "•••••• (set)" displays)."""
        return sorted(self.secret_values())


class Mapping(models.Model):
    destination = models.ForeignKey(Destination, related_name="mappings", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    trigger = models.TextField()
    action = models.CharField(max_length=60)
    mapping = OrderedJSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["destination_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["destination", "name"], name="unique_mapping_name")
        ]

    def __str__(self) -> str:
        return f"{self.destination.name} / {self.name}"

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "trigger": self.trigger,
            "action": self.action,
            "mapping": self.mapping,
        }


class MappingVersion(models.Model):
    """Every saved state of a mapping, for history, diff and restore."""

    mapping = models.ForeignKey(Mapping, related_name="versions", on_delete=models.CASCADE)
    version = models.PositiveIntegerField()
    snapshot = OrderedJSONField()
    saved_by = models.CharField(max_length=150, blank=True, default="")
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["mapping_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["mapping", "version"], name="unique_mapping_version")
        ]

    def __str__(self) -> str:
        return f"{self.mapping} v{self.version}"
