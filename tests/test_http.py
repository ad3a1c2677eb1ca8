"""The outbound-HTTP seam, against a tiny local server."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mappings import __version__, http
from mappings.destinations.mixpanel import wire
from mappings.destinations.mixpanel.types import MixpanelSettings, Record


class Handler(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Handler.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/import?strict=1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        if self.path.startswith("/big"):
            payload = b"x" * (http.MAX_RESPONSE_BYTES + 5000)
            status = 200
        elif self.path.startswith("/import"):
            payload, status = b'{"code":429,"error":"Project exceeded rate limits."}', 429
        else:
            payload, status = b'{"status": 1, "error": null}', 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "7")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = _answer


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def fresh_log():
    Handler.seen.clear()


def prepared(base: str, prefix: str = "") -> wire.PreparedRequest:
    """An /import request to ``base`` + ``prefix`` (the server behaves by path prefix)."""
    settings = MixpanelSettings(project_token="tok", api_secret="sec")
    record = Record("import", {"event": "é", "properties": {"time": 1}}, "event")
    [request] = wire.build_requests(
        [record], settings, api_url_override=base + prefix, user_agent=http.USER_AGENT
    )
    return request


def test_user_agent_carries_the_version():
    assert http.USER_AGENT == f"segmix/{__version__}"


def test_it_sends_exactly_the_prepared_request_and_captures_the_answer(server):
    request = prepared(server)
    result = http.send(request, timeout=5)
    assert result.status == 429
    assert result.headers["Retry-After"] == "7"
    assert json.loads(result.body)["code"] == 429
    assert result.elapsed_ms >= 0
    [seen] = Handler.seen
    assert seen["method"] == "POST"
    assert seen["path"] == "/import?strict=1"
    assert gzip.decompress(seen["body"]) == '[{"event":"é","properties":{"time":1}}]'.encode()
    # Exactly the prepared headers, plus what HTTP itself needs.
    assert seen["headers"] == {
        **request.headers,
        "Host": server.removeprefix("http://"),
        "Content-Length": str(len(request.body)),
        "Accept-Encoding": "identity",  # added by http.client when none is given
    }


def test_profile_requests_go_uncompressed(server):
    settings = MixpanelSettings(project_token="tok")
    record = Record("engage", {"$token": "tok", "$distinct_id": "u", "$set": {}}, "profile")
    [request] = wire.build_requests([record], settings, api_url_override=server, user_agent="ua")
    result = http.send(request, timeout=5)
    assert (result.status, result.body) == (200, b'{"status": 1, "error": null}')
    assert Handler.seen[0]["path"] == "/engage?verbose=1"
    assert json.loads(Handler.seen[0]["body"]) == [record.body]


def test_redirects_are_never_followed(server):
    result = http.send(prepared(server, "/redirect"), timeout=5)
    assert result.status == 302
    assert result.headers["Location"] == "/import?strict=1"
    assert len(Handler.seen) == 1


def test_a_slow_server_raises_transport_timeout(server):
    with pytest.raises(http.TransportTimeout) as info:
        http.send(prepared(server, "/slow"), timeout=0.3)
    assert info.value.kind == "timeout"
    assert "timeout" in info.value.message


def test_a_refused_port_raises_transport_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(http.TransportError) as info:
        http.send(prepared(f"http://127.0.0.1:{port}"), timeout=2)
    assert not isinstance(info.value, http.TransportTimeout)
    assert info.value.kind == "connection"


def test_try_send_reports_transport_errors_in_the_result():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = http.try_send(prepared(f"http://127.0.0.1:{port}"), timeout=2)
    assert result.status is None
    assert result.error_class == "connection" and result.error


def test_huge_answers_are_capped(server):
    result = http.send(prepared(server, "/big"), timeout=5)
    assert result.status == 200
    assert len(result.body) == http.MAX_RESPONSE_BYTES


def test_the_session_is_reused_within_a_thread():
    assert http.session() is http.session()
