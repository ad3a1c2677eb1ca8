"""Secrets at rest: Fernet with key rotation.

``settings.SEGMIX_ENCRYPTION_KEYS`` holds one or more Fernet keys (env ``SEGMIX_ENCRYPTION_KEY``,
comma-separated). The first key encrypts; every key decrypts. To rotate: put the new key first,
keep the old ones, run ``python manage.py rotate_secrets``, then drop the old keys.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretDecryptionError(RuntimeError):
    """No configured key decrypts the stored value (keys rotated away or value corrupted)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SEGMIX_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "Stored secret cannot be decrypted with SEGMIX_ENCRYPTION_KEY "
            "(was the key that encrypted it removed?)."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the first (newest) key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError("Stored secret cannot be decrypted for rotation.") from exc
