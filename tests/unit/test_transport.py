"""adapters.transport against real local HTTP/1.1 servers: keep-alive, stale connections,
redirects, bodies that break off, chunked answers, the pool's bound."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from docker_kolla.adapters import http
from docker_kolla.adapters.transport import TransportError
from docker_kolla.errors import DeadlineExceeded


class Server:
    """HTTP/1.1 with keep-alive; ``route(handler) -> None`` answers each request."""

    def __init__(self, route):
        self.peers: list[int] = []  # the client port of every request
        self.seen: list[tuple[str, str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                server.peers.append(self.client_address[1])
                server.seen.append((self.command, self.path, dict(self.headers)))
                route(self)

            do_GET = do_HEAD = do_PUT = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # a client these tests cut off (a deadline, a broken body) is expected: no traceback on stderr
        self.httpd.handle_error = lambda request, client_address: None
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def answer(handler, status=200, body=b"ok", headers=None):
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


@pytest.fixture
def serve():
    servers = []

    def make(route):
        servers.append(Server(route))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_connections_are_kept_alive(serve):
    srv = serve(lambda h: answer(h, body=b"x" * 1000))
    with http.make_session("t/1") as session:
        for method in ("GET", "HEAD", "GET", "GET"):
            resp = session.request(method, srv.url + "/a")
            assert resp.status_code == 200
        assert resp.content == b"x" * 1000
    assert len(set(srv.peers)) == 1 and len(srv.peers) == 4


def test_a_connection_the_server_closed_is_not_reused(serve):
    def route(h):
        answer(h, headers={"Connection": "close"} if h.path == "/bye" else None)
        h.close_connection = h.path == "/bye-silently" or h.close_connection

    srv = serve(route)
    with http.make_session("t/1") as session:
        session.request("GET", srv.url + "/bye-silently")  # closed after answering, without saying so
        assert session.request("GET", srv.url + "/next").status_code == 200
        session.request("GET", srv.url + "/bye")
        assert session.request("GET", srv.url + "/next").status_code == 200
    assert len(set(srv.peers)) == 3


def test_redirect_to_another_host_drops_authorization(serve):
    storage = serve(lambda h: answer(h, body=b"blob"))
    storage_url = storage.url.replace("127.0.0.1", "localhost")

    def route(h):
        if h.path == "/same":
            answer(h, 307, b"", {"Location": "/final"})
        elif h.path == "/final":
            answer(h, body=b"here")
        else:
            answer(h, 307, b"", {"Location": storage_url + "/blob?sig=1"})

    srv = serve(route)
    with http.make_session("t/1") as session:
        resp = session.request("GET", srv.url + "/elsewhere", headers={"Authorization": "Bearer t"})
        assert resp.content == b"blob" and resp.url == storage_url + "/blob?sig=1"
        assert session.request("GET", srv.url + "/same", headers={"Authorization": "Bearer t"}).content == b"here"
    assert "Authorization" not in storage.seen[0][2]
    assert srv.seen[-1][1] == "/final" and srv.seen[-1][2]["Authorization"] == "Bearer t"


def test_a_body_cut_short_is_a_dropped_connection(serve):
    def route(h):
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.write(b"only 50 bytes".ljust(50))
        h.wfile.flush()
        h.connection.shutdown(socket.SHUT_RDWR)
        h.close_connection = True

    srv = serve(route)
    with http.make_session("t/1") as session:
        with pytest.raises(TransportError) as info:
            session.request("GET", srv.url + "/x")
        assert info.value.kind == "dropped" and http.transient(info.value)
        resp = session.request("GET", srv.url + "/x", stream=True)
        with pytest.raises(TransportError):
            b"".join(resp.iter_content(16))


def test_chunked_answers_and_streamed_reads(serve):
    def route(h):
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for part in (b"abc", b"defgh", b""):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))

    srv = serve(route)
    with http.make_session("t/1") as session:
        assert session.request("GET", srv.url + "/c").content == b"abcdefgh"
        with session.request("GET", srv.url + "/c", stream=True) as resp:
            assert b"".join(resp.iter_content(2)) == b"abcdefgh"
    assert len(set(srv.peers)) == 1  # read to the end, the connection went back to the pool


def test_idle_connections_are_bounded_by_the_pool_size(serve):
    gate = threading.Barrier(6)

    def route(h):
        if h.path == "/wait":
            gate.wait(timeout=10)
        answer(h)

    srv = serve(route)
    with http.make_session("t/1", pool_size=2) as session:
        with ThreadPoolExecutor(6) as pool:
            assert [r.status_code for r in pool.map(lambda _: session.request("GET", srv.url + "/wait"), range(6))] == [
                200
            ] * 6
        assert sum(len(idle) for idle in session._idle.values()) == 2
        for _ in range(4):
            session.request("GET", srv.url + "/again")
    assert len(set(srv.peers)) == 6  # the later requests rode the two kept connections


def test_links_by_relation():
    from docker_kolla.adapters.transport import Response

    resp = Response(None, (), None, None, "http://r/v2/a/tags/list")
    resp.headers["Link"] = '</v2/a/tags/list?n=2&last=b>; rel="next", <http://x/y>; rel=prev'
    assert resp.links["next"]["url"] == "/v2/a/tags/list?n=2&last=b" and resp.links["prev"]["url"] == "http://x/y"


def test_a_short_deadline_after_a_long_one_is_kept(serve):
    """The deadline watchdog sleeps until the earliest due; an exchange due sooner than every
    other must wake it. Order, not time: the short exchange is cut before the long one."""
    arrived, release, order = threading.Semaphore(0), threading.Event(), []

    def route(h):
        arrived.release()
        for byte in b"HTTP/1.1 200 OK\r\n" * 100:  # drips: no read timeout, only the deadline ends it
            if release.wait(0.05):
                return
            h.wfile.write(bytes([byte]))
            h.wfile.flush()

    srv = serve(route)
    session = http.make_session("t/1")

    def call(name, seconds):
        try:
            http.send(session, "GET", f"{srv.url}/{name}", policy=http.RetryPolicy(attempts=1, deadline=seconds))
        except DeadlineExceeded:
            order.append(name)

    long = threading.Thread(target=call, args=("long", 3.0))
    long.start()
    assert arrived.acquire(timeout=10)
    call("short", 0.2)
    long.join(timeout=20)
    release.set()
    assert order == ["short", "long"]


def test_a_body_that_fails_mid_request_closes_its_connection(serve):
    """A streamed upload whose source breaks (a digest mismatch, say) raises that error as it is,
    and the half-sent connection never goes back to the pool."""

    def route(h):
        h.rfile.read(int(h.headers.get("Content-Length") or 0))
        answer(h)

    srv = serve(route)

    class Broken(Exception):
        pass

    def chunks():
        yield b"abc"
        raise Broken("source stream failed")

    with http.make_session("t/1") as session:
        assert session.request("GET", srv.url + "/warm").status_code == 200
        with pytest.raises(Broken):
            session.request("PUT", srv.url + "/up", data=chunks())
        assert sum(len(idle) for idle in session._idle.values()) == 0
        assert session.request("GET", srv.url + "/after").status_code == 200
    assert len(set(srv.peers)) == 2  # the broken PUT's connection was not used again
