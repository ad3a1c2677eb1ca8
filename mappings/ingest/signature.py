"""``/v1/forward`` signatures (spec §2.3): ``X-Signature`` = hex HMAC-SHA1(secret, signed bytes).

The signed bytes are the raw (decompressed) body for an object, and for an array only the exact
bytes of its first element, as Segment signs them: found in the body, never re-serialised.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from mappings.ingest.errors import IngestError

_JSON_SPACE = " \t\n\r"


def check_signature(secret: str, provided: str | None, body: bytes, value: Any) -> None:
    """Raise ``401 invalid_signature`` unless ``provided`` signs ``body`` (parsed as ``value``).

    >>> body = b'[{"type": "track"} , {"type": "page"}]'
    >>> sig = hmac.new(b"s3", b'{"type": "track"}', hashlib.sha1).hexdigest()
    >>> check_signature("s3", sig.upper(), body, [{}, {}]) is None
    True
    """
    expected = hmac.new(secret.encode(), signed_bytes(body, value), hashlib.sha1).hexdigest()
    given = (provided or "").strip().lower().encode("latin-1", "replace")
    if not hmac.compare_digest(expected.encode(), given):
        raise IngestError(401, "invalid_signature", "X-Signature does not match the body")


def signed_bytes(body: bytes, value: Any) -> bytes:
    """What Segment signed: ``body``, or the byte span of element 0 when ``value`` is an array.

    ``body`` must be the valid JSON that produced ``value`` (``decode.parse_json`` checked it,
    nesting included), so the stdlib scanner finds exactly where element 0 ends.
    """
    if type(value) is not list or not value:
        return body
    text = body.decode("utf-8")
    start = len(text) - len(text.lstrip(_JSON_SPACE)) + 1  # just past "["
    while text[start] in _JSON_SPACE:
        start += 1
    _, end = json.JSONDecoder().raw_decode(text, start)
    return text[start:end].encode("utf-8")
