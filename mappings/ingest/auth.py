"""Where a request's write key comes from (spec §3 and §2.3). Pure: no key lookup here.

The HTTP layer calls ``write_key_from_basic`` before reading the body (§4.1 step 3), then
``body_write_key`` after parsing and ``resolve_write_key`` to pick the key it looks up.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from mappings.ingest.decode import ParsedBody
from mappings.ingest.errors import IngestError


def write_key_from_basic(header_value: str | None) -> str | None:
    """The write key in an ``Authorization`` header, or ``None`` if it carries none.

    ``Basic <base64>``: padding may be missing; the decoded UTF-8 text up to the first ``:`` is
    the key (the password is ignored), and without a colon the whole text is (Segment's legacy
    form). ``Bearer`` and other schemes are Segment OAuth or foreign: not validated, ``None``, so
    the key comes from the body. An undecodable Basic value raises ``invalid_write_key``.

    >>> write_key_from_basic("Basic d2tfZGVtb19rZXk6")
    'wk_demo_key'
    >>> write_key_from_basic("Basic d2tfZGVtb19rZXk"), write_key_from_basic("Bearer eyJ…")
    ('wk_demo_key', None)
    """
    if not header_value:
        return None
    scheme, _, credentials = header_value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    encoded = credentials.strip()
    try:
        if not encoded:
            raise ValueError("no credentials")
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise IngestError(401, "invalid_write_key", "Authorization header is not valid") from exc
    return text.partition(":")[0] or None  # "Basic base64(':secret')" names no key


def body_write_key(body: ParsedBody | Any) -> str | None:
    """The top-level ``writeKey`` of a batch envelope or single message, or ``None``.

    Keys inside batch items (and in a forwarded array) are never used for auth. A ``writeKey``
    that is present but not a string can't name any key: ``invalid_write_key``.
    """
    value = body.value if isinstance(body, ParsedBody) else body
    if type(value) is not dict:
        return None
    key = value.get("writeKey")
    if key is None or key == "":
        return None
    if type(key) is not str:
        raise IngestError(401, "invalid_write_key", "writeKey must be a string")
    return key


def resolve_write_key(
    header_key: str | None, body_key: str | None, *, is_forward: bool = False
) -> str:
    """The one key to authenticate with, per §3 (and §2.3 for ``/v1/forward``).

    Header and body key both present and different → ``write_key_mismatch`` (our choice: data in
    the wrong source is worse than a refusal). Neither → ``missing_write_key``. On forward only
    the header counts: body keys are Segment's own.

    >>> resolve_write_key(None, "wk_body")
    'wk_body'
    """
    if is_forward:
        body_key = None
    if header_key is not None and body_key is not None and header_key != body_key:
        raise IngestError(
            401, "write_key_mismatch", "the Authorization key and the body writeKey differ"
        )
    key = header_key if header_key is not None else body_key
    if key is None:
        raise IngestError(401, "missing_write_key", "no write key in Authorization or body")
    return key
