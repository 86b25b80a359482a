"""http.send retry policy, redaction and connection errors, against a real local HTTP server."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from docker_kolla.adapters import http
from docker_kolla.errors import RegistryUnreachable

FAST = http.RetryPolicy(attempts=4, backoff_base=0.01, backoff_cap=0.02, retry_after_cap=5.0)


class Script:
    """A local server that answers each request with the next scripted (status, headers) pair."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.seen: list[tuple[str, str, dict]] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                script.seen.append((self.command, self.path, dict(self.headers)))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                elif self.headers.get("Transfer-Encoding") == "chunked":
                    while size := int(self.rfile.readline().split(b";")[0], 16):  # the body, as a registry reads it
                        self.rfile.read(size + 2)
                    self.rfile.readline()
                status, headers = script.answers.pop(0) if script.answers else (200, {})
                if status == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    return
                body = b"ok"
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_HEAD = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def script():
    servers = []

    def make(answers):
        servers.append(Script(answers))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def waits(monkeypatch):
    """Record the backoff waits instead of sleeping them (the policy is what is tested).

    Only the test's own thread: ``time.sleep`` is the one of the whole process, and a thread
    another test left behind (a proxy dripping bytes to a client still reading) sleeps for real.
    """
    recorded: list[float] = []
    real, caller = http.time.sleep, threading.current_thread()

    def sleep(seconds: float) -> None:
        if threading.current_thread() is caller:
            recorded.append(seconds)
        else:
            real(seconds)

    monkeypatch.setattr(http.time, "sleep", sleep)
    return recorded


def test_503_then_200_is_retried(script, waits):
    srv = script([(503, {}), (503, {}), (200, {})])
    resp = http.send(http.make_session("t/1"), "GET", srv.url + "/v2/", policy=FAST)
    assert resp.status_code == 200
    assert len(srv.seen) == 3 and len(waits) == 2


def test_429_honours_retry_after_and_caps_it(script, waits):
    srv = script([(429, {"Retry-After": "3"}), (429, {"Retry-After": "3600"}), (200, {})])
    resp = http.send(http.make_session("t/1"), "GET", srv.url + "/x", policy=FAST)
    assert resp.status_code == 200
    assert waits == [3.0, FAST.retry_after_cap]


def test_gives_up_after_bounded_attempts_and_returns_last_answer(script, waits):
    srv = script([(502, {})] * 10)
    resp = http.send(http.make_session("t/1"), "GET", srv.url + "/x", policy=FAST)
    assert resp.status_code == 502
    assert len(srv.seen) == FAST.attempts
    assert all(w <= FAST.backoff_cap for w in waits)


@pytest.mark.parametrize("status", [401, 403, 404, 400, 501])
def test_final_answers_are_not_retried(script, waits, status):
    srv = script([(status, {}), (200, {})])
    resp = http.send(http.make_session("t/1"), "GET", srv.url + "/x", policy=FAST)
    assert resp.status_code == status
    assert len(srv.seen) == 1 and waits == []


def test_connection_reset_is_retried(script, waits):
    srv = script([("reset", {}), (200, {})])
    resp = http.send(http.make_session("t/1"), "GET", srv.url + "/x", policy=FAST)
    assert resp.status_code == 200
    assert len(srv.seen) == 2


def test_stream_body_is_sent_once(script, waits):
    srv = script([(503, {}), (200, {})])
    body = iter([b"abc"])
    resp = http.send(http.make_session("t/1"), "PUT", srv.url + "/x", data=body, policy=FAST)
    assert resp.status_code == 503 and len(srv.seen) == 1


def test_refused_port_is_unreachable_with_hint(waits):
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    address = port.getsockname()
    port.close()
    with pytest.raises(RegistryUnreachable) as info:
        http.send(http.make_session("t/1"), "GET", f"http://u:pw@{address[0]}:{address[1]}/v2/?token=abc", policy=FAST)
    line = info.value.line()
    # already plain HTTP: --insecure-registry would not help, so it is not suggested
    assert "connection refused" in line and "is running" in line and "--insecure-registry" not in line
    assert "pw" not in line and "abc" not in line
    assert waits == []  # refused is not transient


def test_session_settings(script):
    session = http.make_session("docker-kolla/9", pool_size=32)
    assert session.pool_size == 32
    srv = script([(200, {})])
    http.send(session, "GET", srv.url + "/x")
    assert srv.seen[0][2]["User-Agent"] == "docker-kolla/9"


def test_redact():
    url = "https://user:secret@reg.example:5000/v2/a/blobs/uploads/x?_state=abc&digest=sha256:1&X-Amz-Signature=zz"
    out = http.redact(url)
    assert "secret" not in out and "user" not in out and "abc" not in out and "zz" not in out
    assert out.startswith("https://reg.example:5000/v2/a/blobs/uploads/x?")
    assert "digest=sha256%3A1" in out


def test_retry_after_http_date():
    class Resp:
        headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}

    assert http.retry_after(Resp(), 10.0) == 0.0
    Resp.headers = {"Retry-After": "soon"}
    assert http.retry_after(Resp(), 10.0) is None


def test_sized_reader_sends_content_length_not_chunked(script):
    srv = script([(201, {})])
    body = http.SizedReader(iter([b"abc", b"", b"defg"]), 7)
    resp = http.send(http.make_session("t/1"), "PUT", srv.url + "/up", data=body, headers={"Content-Length": "7"})
    assert resp.status_code == 201
    headers = srv.seen[0][2]
    assert headers["Content-Length"] == "7" and "Transfer-Encoding" not in headers
