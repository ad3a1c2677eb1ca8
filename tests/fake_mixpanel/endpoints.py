"""Mixpanel's HTTP endpoints as plain functions: parsed `Request` in, `Response` out.

No sockets here (see `server.py`); every handler validates the way `mixpanel-api.md` reads
strictly and stores what Mixpanel would have kept in the `Store`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from .events import body_needs_measuring, check_import_record, check_track_event
from .profiles import check_update
from .store import Project, ScriptedResponse, Store

SECRET_AUTH_ERROR = (
    "Unauthorized, invalid project secret. See docs for more information: "
    "https://developer.mixpanel.com/reference/authentication#project-secret"
)
RATE_LIMIT_ERROR = (
    "Project exceeded rate limits. Please retry the request with exponential backoff."
)


@dataclass
class Settings:
    """Behaviour knobs; the defaults are Mixpanel's documented limits."""

    projects: list[Project]
    max_body_bytes: int = 10_000_000  # "10 MB" read as 10^6 bytes, the stricter reading
    max_records: int = 2000
    too_many_records_status: int = 413
    failed_id_key: str = "insert_id"  # or "$insert_id", the older spelling (§3.4 CONFLICT)
    latency_ms: float = 0.0
    record_bodies: bool = True
    clock: Callable[[], float] | None = None

    def now(self) -> float:
        # Looked up at call time so freezegun-style patches of time.time apply.
        return self.clock() if self.clock else time.time()

    @property
    def tokens(self) -> set[str]:
        return {p.token for p in self.projects}


@dataclass
class Request:
    """One API request as the handlers see it."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    seq: int = -1
    decoded: Any = None  # the parsed body, kept in the request log
    notes: dict[str, Any] = field(default_factory=dict)  # e.g. the auth mode, for the log


@dataclass
class Response:
    """`body` is JSON-encoded unless `text` (then sent as text/plain) or already bytes."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    text: bool = False


class BodyError(Exception):
    """The body cannot be read: an HTTP status and Mixpanel-style message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def import_error(status: int, error: str) -> Response:
    """The `{"code", "error", "status"}` shape `/import` uses for every non-200."""
    return Response(status, {"code": status, "error": error, "status": phrase(status)})


def default_body(path: str, status: int, settings: Settings) -> Any:
    """What Mixpanel would answer with `status` on `path`, for scripted responses."""
    ok = status < 300
    if path.startswith(("/engage", "/groups", "/track")):
        return {"status": 1, "error": None} if ok else {"error": phrase(status), "status": "error"}
    if path.startswith("/api/app"):
        return (
            {"status": "ok", "results": {}} if ok else {"status": "error", "error": phrase(status)}
        )
    if status == 200:
        return {"code": 200, "num_records_imported": 0, "status": "OK"}
    error = {
        401: "Invalid credentials",
        413: f"request exceeds max limit of {settings.max_body_bytes} bytes",
        429: RATE_LIMIT_ERROR,
    }.get(status, phrase(status))
    return import_error(status, error).body


def scripted(
    script: ScriptedResponse, real: Response | None, settings: Settings, path: str
) -> Response:
    """The response a fired script produces, built on the real one when there is one."""
    if script.status is None and real is not None:
        response = Response(real.status, real.body, dict(real.headers), real.text)
    else:
        status = script.status if script.status is not None else 200
        response = Response(status, default_body(path, status, settings))
    if script.body is not None:
        response.body = script.body
        response.text = isinstance(script.body, str)
    response.headers.update(script.headers)
    return response


# -- body helpers ----------------------------------------------------------------------------


def content_type(req: Request) -> str:
    return (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def decoded_body(req: Request, limit: int) -> bytes:
    """The uncompressed body, refusing more than `limit` bytes (gzip does not raise it)."""
    encoding = (req.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity":
        data = req.body
    elif encoding == "gzip":
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            # Bounded so a small gzip bomb cannot exhaust the test process's memory.
            data = inflater.decompress(req.body, limit + 1)
        except zlib.error as exc:
            raise BodyError(400, f"unable to decompress gzip body: {exc}") from exc
        if len(data) <= limit and not inflater.eof:
            raise BodyError(400, "unable to decompress gzip body: truncated stream")
    else:
        raise BodyError(400, f"unsupported Content-Encoding {encoding!r}")
    if len(data) > limit:
        raise BodyError(413, f"request exceeds max limit of {limit} bytes")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str) -> Any:
    """Strict JSON: no NaN/Infinity; invalid UTF-8 kept as surrogates for per-record errors."""
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    return json.loads(text, parse_constant=_reject_constant)


def form_data(body: bytes) -> Any:
    """The `data=` field of a form body: plain JSON or base64 of it (§4)."""
    # surrogateescape keeps invalid UTF-8 visible, so it fails per record as on /import.
    text = body.decode("utf-8", "surrogateescape")
    fields = parse_qs(text, keep_blank_values=True, errors="surrogateescape")
    value = (fields.get("data") or [""])[-1].strip()
    if not value:
        raise ValueError("data, missing or empty")
    try:
        return parse_json(value)
    except ValueError:
        pass
    # An unencoded "+" in base64 arrives as a space; URL-safe base64 is accepted too.
    b64 = value.replace(" ", "+").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("data is neither JSON nor base64-encoded JSON") from exc
    return parse_json(raw)


def _status_reply(req: Request, error: str | None) -> Response:
    """`/track`, `/engage`, `/groups` answer 200 either way; the body says what happened."""
    if req.query.get("verbose") == "1":
        return Response(200, {"status": 0 if error else 1, "error": error})
    return Response(200, "0" if error else "1", text=True)


# -- /import ---------------------------------------------------------------------------------


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) of a Basic header, whose value may be base64 or plain text (§2)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    value = value.strip()
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = value
    if ":" not in decoded and ":" in value:
        decoded = value
    user, _, password = decoded.partition(":")
    return user, password


def authenticate_import(req: Request, settings: Settings) -> tuple[Project, str] | Response:
    """(project, auth mode) for an `/import` request, or its 401 response."""
    credentials = basic_credentials(req.headers.get("Authorization"))
    if credentials is None:
        return import_error(401, "Invalid credentials")
    user, password = credentials
    project_id = req.query.get("project_id")
    if project_id is not None:
        for project in settings.projects:
            if project.project_id == project_id and project.service_accounts.get(user) == password:
                return project, "service_account"
        return import_error(401, "Invalid service account credentials")
    # Without project_id the Basic user is a token or a secret; the password is ignored
    # (segmix sends "token:" / "secret:"). A service account lands in the secret branch.
    for project in settings.projects:
        if user == project.token:
            return project, "project_token"
        if project.api_secret and user == project.api_secret:
            return project, "api_secret"
    return import_error(401, SECRET_AUTH_ERROR)


def handle_import(req: Request, settings: Settings, store: Store) -> Response:
    auth = authenticate_import(req, settings)
    if isinstance(auth, Response):
        return auth
    project, mode = auth
    req.notes.update(auth=mode, project_token=project.token)
    strict = req.query.get("strict", "1")  # OpenAPI: required, default "1"
    if strict not in ("0", "1"):
        return import_error(400, "strict must be '0' or '1'")
    try:
        data = decoded_body(req, settings.max_body_bytes)
    except BodyError as exc:
        return import_error(exc.status, exc.message)
    kind = content_type(req)
    try:
        if kind == "application/json":
            records = parse_json(data)
        elif kind == "application/x-ndjson":
            records = [parse_json(line) for line in data.splitlines() if line.strip()]
        else:
            # Mixpanel also takes a legacy form encoding; segmix must never send it.
            return import_error(400, f"unsupported Content-Type {kind!r} (fake: JSON only)")
    except ValueError as exc:
        req.decoded = data.decode("utf-8", "replace")
        return import_error(400, f"unable to parse request body: {exc}")
    req.decoded = records
    if not isinstance(records, list):
        return import_error(400, "request body must be a JSON array of records")
    if not records:
        return import_error(400, "request body must contain at least one record")
    if len(records) > settings.max_records:
        limit = settings.max_records
        return import_error(
            settings.too_many_records_status, f"request exceeds max limit of {limit} records"
        )
    now = settings.now()
    measure = body_needs_measuring(data)
    accepted, failed = [], []
    for index, record in enumerate(records):
        failure = check_import_record(record, now, require_insert_id=strict == "1", measure=measure)
        if failure is None:
            accepted.append((index, record))
        else:
            failed.append((index, record, failure))
    store.add_events("/import", project.token, req.seq, accepted)
    if failed and strict == "0":
        store.count("dropped:/import", len(failed))
    elif failed:
        store.count("failed:/import", len(failed))
        response = import_error(400, "some data points in the request failed validation")
        response.body["num_records_imported"] = len(accepted)
        response.body["failed_records"] = [
            {
                "index": index,
                settings.failed_id_key: _insert_id_of(record),
                "field": failure.field,
                "message": failure.message,
            }
            for index, record, failure in failed
        ]
        return response
    return Response(200, {"code": 200, "num_records_imported": len(accepted), "status": "OK"})


def _insert_id_of(record: Any) -> str:
    properties = record.get("properties") if isinstance(record, dict) else None
    value = properties.get("$insert_id") if isinstance(properties, dict) else None
    return value if isinstance(value, str) and value.isascii() else ""


# -- /track, /engage, /groups ----------------------------------------------------------------


def _form_or_json_records(req: Request, body: bytes, *, json_body: bool) -> list[Any]:
    """Records of a form `data=` body (object or array), or of a JSON array if allowed."""
    kind = content_type(req)
    if kind == "application/x-www-form-urlencoded":
        parsed = form_data(body)
    elif kind == "application/json" and json_body:
        parsed = parse_json(body)
        if not isinstance(parsed, list):
            raise ValueError("a JSON body must be an array of updates")
    else:
        raise ValueError(f"unsupported Content-Type {kind!r}")
    req.decoded = parsed
    return parsed if isinstance(parsed, list) else [parsed]


def handle_track(req: Request, settings: Settings, store: Store) -> Response:
    try:
        body = decoded_body(req, settings.max_body_bytes)  # gzip is allowed here
        events = _form_or_json_records(req, body, json_body=False)
    except (BodyError, ValueError) as exc:
        return _status_reply(req, str(exc))
    if not events or len(events) > settings.max_records:
        return _status_reply(req, f"send 1 to {settings.max_records} events per request")
    now, tokens = settings.now(), settings.tokens
    errors = []
    accepted: dict[str, list[tuple[int, dict]]] = {}
    for index, event in enumerate(events):
        failure = check_track_event(event, now)
        if failure:
            errors.append(f"event {index}: {failure.field}: {failure.message}")
            continue
        token = event["properties"].get("token")
        if token in tokens:
            accepted.setdefault(token, []).append((index, event))
        else:
            store.count("dropped:/track")  # "a bad token does not produce an error" (§4)
    for token, token_events in accepted.items():
        store.add_events("/track", token, req.seq, token_events)
    store.count("failed:/track", len(errors))
    return _status_reply(req, "; ".join(errors) or None)


def handle_profiles(req: Request, settings: Settings, store: Store) -> Response:
    """`/engage` and `/groups`: one bad update makes the answer 0; the good ones still apply."""
    endpoint = req.path
    encoding = (req.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        return _status_reply(req, f"Content-Encoding {encoding!r} is not supported on {endpoint}")
    try:
        updates = _form_or_json_records(req, req.body, json_body=True)
    except ValueError as exc:
        return _status_reply(req, str(exc))
    if not updates or len(updates) > settings.max_records:
        return _status_reply(req, f"send 1 to {settings.max_records} updates per request")
    errors, accepted, tokens = [], [], settings.tokens
    for index, update in enumerate(updates):
        error = check_update(update, tokens, group=endpoint == "/groups")
        if error:
            errors.append(f"update {index}: {error}")
        else:
            accepted.append((index, update))
    store.apply_profile_updates(endpoint, req.seq, accepted)
    store.count(f"failed:{endpoint}", len(errors))
    return _status_reply(req, "; ".join(errors) or None)


# -- app API (credential checks) -------------------------------------------------------------


def handle_validate_credentials(req: Request, settings: Settings, store: Store) -> Response:
    """Segment's check: `{"api_secret", "project_token"}` as text/plain JSON, no auth."""
    try:
        payload = parse_json(req.body)
        secret, token = payload["api_secret"], payload["project_token"]
    except (ValueError, TypeError, KeyError):
        return Response(400, {"status": "error", "error": "api_secret and project_token required"})
    req.decoded = {**payload, "api_secret": "***"}
    for project in settings.projects:
        if project.token == token and project.api_secret and project.api_secret == secret:
            results = {"project_id": _id(project.project_id), "project_name": project.name}
            return Response(200, {"status": "ok", "results": results})
    return Response(401, {"status": "error", "error": "Invalid project token or API secret"})


def handle_me(req: Request, settings: Settings, store: Store) -> Response:
    """`GET /api/app/me`: the service account and the projects it can reach.

    The real shape is undocumented (UNCONFIRMED); this follows what client libraries read:
    `results.projects` keyed by project id.
    """
    credentials = basic_credentials(req.headers.get("Authorization"))
    user, password = credentials or ("", "")
    projects = [p for p in settings.projects if p.service_accounts.get(user, None) == password]
    if not credentials or not projects:
        return Response(401, {"status": "error", "error": "Invalid service account credentials"})
    results = {
        "user_name": user,
        "projects": {
            p.project_id: {"id": _id(p.project_id), "name": p.name, "role": {"name": "Admin"}}
            for p in projects
        },
    }
    return Response(200, {"status": "ok", "results": results})


def _id(project_id: str) -> int | str:
    return int(project_id) if project_id.isdigit() else project_id


ROUTES: dict[tuple[str, str], Callable[[Request, Settings, Store], Response]] = {
    ("POST", "/import"): handle_import,
    ("POST", "/track"): handle_track,
    ("POST", "/engage"): handle_profiles,
    ("POST", "/groups"): handle_profiles,
    ("POST", "/api/app/validate-project-credentials/"): handle_validate_credentials,
    ("GET", "/api/app/me"): handle_me,
}


def dispatch(req: Request, settings: Settings, store: Store) -> Response:
    handler = ROUTES.get((req.method, req.path))
    if handler:
        return handler(req, settings, store)
    if any(path == req.path for _, path in ROUTES):
        return Response(405, {"error": f"{req.method} not allowed on {req.path}"})
    return Response(404, {"error": f"no such endpoint {req.path}"})
