"""adapters.httpsend: a request's head written in one piece, and the bytes that reach the wire
(read from the other end of a socket pair, and through adapters.transport from a real server)."""

from __future__ import annotations

import http.client
import socket

import pytest

from docker_kolla.adapters import http as kolla_http
from docker_kolla.adapters.httpsend import WITH_HEAD, OnePiece, host_field, request_head
from tests.support.rawhttp import RawServer


def head_of(method="GET", target="/v2/", headers=None, body=None, host="r.example"):
    raw, chunked = request_head(method, target, host, headers or {}, body)
    return raw.decode("latin-1").split("\r\n"), chunked


def test_the_head_has_the_request_line_the_host_first_the_fields_in_order_and_identity():
    lines, chunked = head_of("HEAD", "/v2/a/manifests/ocata", {"Accept": "x/y", "User-Agent": "k/1", "N": 3})
    assert lines == [
        "HEAD /v2/a/manifests/ocata HTTP/1.1",
        "Host: r.example",
        "Accept: x/y",
        "User-Agent: k/1",
        "N: 3",
        "Accept-Encoding: identity",
        "",
        "",
    ]
    assert not chunked


def test_what_the_caller_says_wins_host_encoding_and_length():
    lines, _ = head_of("PUT", "/u", {"host": "other:1", "Accept-Encoding": "gzip", "Content-Length": "9"}, b"x")
    assert lines[:5] == ["PUT /u HTTP/1.1", "host: other:1", "Accept-Encoding: gzip", "Content-Length: 9", ""]


@pytest.mark.parametrize(
    "method, body, field, chunked",
    [
        ("POST", None, "Content-Length: 0", False),
        ("PUT", None, "Content-Length: 0", False),
        ("PATCH", None, "Content-Length: 0", False),
        ("GET", None, None, False),
        ("DELETE", None, None, False),
        ("PUT", b"abc", "Content-Length: 3", False),
        ("POST", bytearray(b"ab"), "Content-Length: 2", False),
        ("PUT", iter([b"a"]), "Transfer-Encoding: chunked", True),
    ],
)
def test_framing_as_http_client_chooses_it(method, body, field, chunked):
    lines, got = head_of(method, "/x", {}, body)
    framing = [line for line in lines if line.startswith(("Content-Length", "Transfer-Encoding"))]
    assert framing == ([field] if field else []) and got == chunked


@pytest.mark.parametrize(
    "method, target, headers, error",
    [
        ("GET", "/a b", {}, http.client.InvalidURL),
        ("GET", "/a\r\nX: 1", {}, http.client.InvalidURL),
        ("GET", "/a\x00", {}, http.client.InvalidURL),
        ("GET", "/b\u00fccher", {}, http.client.InvalidURL),
        ("GE T", "/a", {}, ValueError),
        ("GET\r\n", "/a", {}, ValueError),
        ("GET", "/a", {"X": "1\r\nInjected: yes"}, ValueError),
        ("GET", "/a", {"X": "1\nInjected: yes"}, ValueError),
        ("GET", "/a", {"X\r\nY": "1"}, ValueError),
        ("GET", "/a", {"X:Y": "1"}, ValueError),
        ("GET", "/a", {"": "1"}, ValueError),
    ],
)
def test_nothing_a_url_or_a_value_supplies_can_split_the_request(method, target, headers, error):
    with pytest.raises(error):
        request_head(method, target, "h", headers, None)


def test_a_folded_value_is_what_http_client_lets_through_too():
    lines, _ = head_of(headers={"X": "a\r\n b"})
    assert "X: a" in lines and " b" in lines


@pytest.mark.parametrize(
    "host, port, default, expected",
    [
        ("registry.example", 443, 443, "registry.example"),
        ("registry.example", 5000, 443, "registry.example:5000"),
        ("127.0.0.1", 80, 80, "127.0.0.1"),
        ("::1", 5000, 80, "[::1]:5000"),
        ("fe80::1%eth0", 443, 443, "[fe80::1]"),
        ("bücher.example", 443, 443, "xn--bcher-kva.example"),
    ],
)
def test_the_host_field(host, port, default, expected):
    assert host_field(host, port, default) == expected


class Counting(socket.socket):
    """A socket that counts its sendall calls."""

    sends = 0

    def sendall(self, data, *args) -> None:  # type: ignore[override]
        self.sends += 1
        super().sendall(data, *args)


class Wire(OnePiece, http.client.HTTPConnection):
    """A connection whose socket is one end of a pair: the test reads the other end."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__("127.0.0.1", 5000)
        self.sock = sock

    @property
    def sends(self) -> int:
        return self.sock.sends


@pytest.fixture
def wire():
    ours, theirs = socket.socketpair()
    conn = Wire(Counting(fileno=ours.detach()))

    def received() -> bytes:
        conn.sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := theirs.recv(1 << 20):
            data += chunk
        return data

    yield conn, received
    conn.close()
    theirs.close()


def test_a_small_body_goes_out_with_its_head_in_one_send(wire):
    conn, received = wire
    conn.request("PUT", "/v2/a/manifests/ocata", body=b'{"schemaVersion":2}', headers={"Content-Type": "m"})
    assert conn.sends == 1
    head, _, body = received().partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[:2] == [b"PUT /v2/a/manifests/ocata HTTP/1.1", b"Host: 127.0.0.1:5000"]
    assert b"Content-Length: 19" in head and body == b'{"schemaVersion":2}'


def test_a_large_body_follows_its_head(wire):
    conn, received = wire
    data = bytes(range(256)) * (WITH_HEAD // 256 + 1)
    conn.request("PUT", "/u", body=data)
    assert conn.sends == 2
    assert received().partition(b"\r\n\r\n")[2] == data


def test_a_reader_with_the_callers_length_goes_as_it_is_read(wire):
    conn, received = wire
    conn.blocksize = 4

    class Reader:
        def __init__(self) -> None:
            self.parts = [b"0123", b"4567", b"89"]

        def read(self, n: int) -> bytes:
            assert n == 4
            return self.parts.pop(0) if self.parts else b""

    conn.request("PUT", "/u", body=Reader(), headers={"Content-Length": "10"})
    head, _, body = received().partition(b"\r\n\r\n")
    assert body == b"0123456789" and b"Transfer-Encoding" not in head


def test_an_iterable_without_length_goes_chunked(wire):
    conn, received = wire
    conn.request("PATCH", "/u", body=iter([b"abc", b"", "de"]))
    head, _, body = received().partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"  # an empty block would end the body: it is skipped


def test_one_request_at_a_time(wire):
    conn, _ = wire
    with pytest.raises(http.client.ResponseNotReady):
        conn.getresponse()
    conn.request("GET", "/a")
    with pytest.raises(http.client.CannotSendRequest):
        conn.request("GET", "/b")
    conn.close()  # a closed connection owes no answer
    with pytest.raises(http.client.ResponseNotReady):
        conn.getresponse()


def test_through_the_transport_the_server_sees_one_head_and_the_whole_body():
    created = (b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", False)
    srv = RawServer([created, created])
    try:
        with kolla_http.make_session("t/1") as session:
            got = session.request("PUT", srv.url + "/v2/a/blobs/uploads/1?digest=sha256:ab", data=b"hello")
            assert got.status_code == 201
            again = session.request("POST", srv.url + "/v2/a/blobs/uploads/")
            assert again.status_code == 201
    finally:
        srv.close()
    first, second = srv.requests
    assert first.startswith(b"PUT /v2/a/blobs/uploads/1?digest=sha256:ab HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"User-Agent: t/1" in first and b"Content-Length: 5" in first
    assert second.startswith(b"POST /v2/a/blobs/uploads/ HTTP/1.1") and b"Content-Length: 0" in second
    assert srv.bodies == [b"hello", b""] and len(set(srv.peers)) == 1
