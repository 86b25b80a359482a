"""adapters.httphead: an answer's status line and header fields, and the body framing they give,
read from bytes and, through adapters.transport, from a real socket that sends exactly the bytes
a test writes (interim answers, HTTP/1.0, folded fields: what http.server would not send)."""

from __future__ import annotations

import http.client
import io

import pytest

from docker_kolla.adapters import http as kolla_http
from docker_kolla.adapters.httphead import MAX_FIELDS, Headers, read_fields, read_status
from docker_kolla.adapters.transport import TransportError
from tests.support.rawhttp import RawServer


def fields(*lines: str) -> Headers:
    return read_fields(io.BytesIO("".join(f"{line}\r\n" for line in lines).encode("iso-8859-1") + b"\r\nbody"))


def test_fields_are_looked_up_by_any_case_and_a_repeated_one_answers_with_its_first_value():
    got = fields("Content-Type: application/json", "WWW-Authenticate: Bearer realm=a", "www-authenticate: Basic")
    assert got.get("content-type") == "application/json" and got["CONTENT-TYPE"] == "application/json"
    assert got.get("WWW-Authenticate") == "Bearer realm=a"
    assert "Www-Authenticate" in got and "Location" not in got and 3 not in got
    assert got.get("Location") is None and got.get("Location", "") == ""
    with pytest.raises(KeyError):
        got["Location"]
    assert got.items() == [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer realm=a")]
    got["location"] = "/v2/x"
    assert (
        got["Location"] == "/v2/x" and len(got) == 3 and list(got) == ["Content-Type", "WWW-Authenticate", "location"]
    )


def test_reading_stops_at_the_empty_line_and_leaves_the_body():
    fp = io.BytesIO(b"A: 1\r\nB:2  \r\n\r\nC: 3\r\n")
    got = read_fields(fp)
    assert got.items() == [("A", "1"), ("B", "2")] and fp.read() == b"C: 3\r\n"
    assert read_fields(io.BytesIO(b"A: 1\nB: 2\n\n")).items() == [("A", "1"), ("B", "2")]  # bare LF ends lines too


def test_a_folded_line_continues_its_field_and_a_line_without_a_colon_is_skipped():
    got = fields("Link: <a>;", '  rel="next"', "not a field", ": no name", "Docker-Content-Digest: sha256:ab")
    assert got.get("Link") == '<a>; rel="next"'
    assert got.items() == [("Link", '<a>; rel="next"'), ("Docker-Content-Digest", "sha256:ab")]


def test_a_value_keeps_its_colons_and_a_name_its_spelling():
    got = fields("Location: http://127.0.0.1:5000/v2/a?x=1", "OCI-Filters-Applied:artifactType")
    assert got["location"] == "http://127.0.0.1:5000/v2/a?x=1"
    assert got.items()[1] == ("OCI-Filters-Applied", "artifactType")


def test_a_head_without_end_is_an_error_not_a_read_without_end():
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        fields(*(f"X-{i}: {i}" for i in range(MAX_FIELDS + 1)))
    assert len(fields(*(f"X-{i}: {i}" for i in range(MAX_FIELDS)))) == MAX_FIELDS
    with pytest.raises(http.client.LineTooLong):
        fields("X: " + "a" * 70_000)
    with pytest.raises(http.client.LineTooLong):
        read_status(io.BytesIO(b"HTTP/1.1 200 " + b"a" * 70_000))


@pytest.mark.parametrize(
    "line, expected",
    [
        (b"HTTP/1.1 200 OK\r\n", (11, 200, "OK")),
        (b"HTTP/1.1 404 Not  Found\r\n", (11, 404, "Not  Found")),
        (b"HTTP/1.0 301 Moved\n", (10, 301, "Moved")),
        (b"HTTP/1.1 204\r\n", (11, 204, "")),
        (b"HTTP/1.2 200 OK\r\n", (11, 200, "OK")),
    ],
)
def test_status_lines(line, expected):
    assert read_status(io.BytesIO(line)) == expected


@pytest.mark.parametrize(
    "line",
    [
        b"ICY 200 OK\r\n",
        b"HTTP/1.1 20 OK\r\n",
        b"HTTP/1.1 2x0 OK\r\n",
        "HTTP/1.1 ²00 OK\r\n".encode("iso-8859-1"),
        b"\r\n",
    ],
)
def test_a_status_line_that_is_not_one_is_a_bad_status_line(line):
    with pytest.raises(http.client.BadStatusLine):
        read_status(io.BytesIO(line))


def test_other_protocols_and_a_silent_close():
    with pytest.raises(http.client.UnknownProtocol):
        read_status(io.BytesIO(b"HTTP/2 200 OK\r\n"))
    # a kept-alive connection the server dropped: the transport retries that one on a fresh connection
    with pytest.raises(http.client.RemoteDisconnected):
        read_status(io.BytesIO(b""))


@pytest.fixture
def raw_server():
    servers: list[RawServer] = []

    def make(*answers: tuple[bytes, bool]) -> RawServer:
        servers.append(RawServer(list(answers)))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_interim_answers_are_skipped_with_their_fields(raw_server):
    srv = raw_server(
        (
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDocker-Content-Digest: sha256:aa\r\n\r\nhello",
            False,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    )
    with kolla_http.make_session("t/1") as session:
        first = session.request("GET", srv.url + "/a")
        assert (first.status_code, first.content) == (200, b"hello")
        assert first.headers.get("Docker-Content-Digest") == "sha256:aa" and "Link" not in first.headers
        assert session.request("GET", srv.url + "/b").content == b"ok"
    assert len(srv.peers) == 2 and len(set(srv.peers)) == 1  # the connection was kept


def test_http_1_0_closes_unless_it_says_keep_alive(raw_server):
    srv = raw_server(
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alive\r\n\r\nk1", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nk2", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nk3", False),
    )
    with kolla_http.make_session("t/1") as session:
        assert [session.request("GET", srv.url + f"/{i}").content for i in range(3)] == [b"k1", b"k2", b"k3"]
    assert len(set(srv.peers[:2])) == 1 and srv.peers[2] != srv.peers[1]  # kept after the first, not after the second


def test_a_body_without_length_ends_when_the_server_closes(raw_server):
    srv = raw_server(
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext", False),
    )
    with kolla_http.make_session("t/1") as session:
        assert session.request("GET", srv.url + "/a").content == b"until the end"
        assert session.request("GET", srv.url + "/b").content == b"next"
    assert len(set(srv.peers)) == 2  # that connection could not be kept


def test_chunked_is_the_framing_when_it_is_the_last_coding_whatever_the_length_says(raw_server):
    body = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    srv = raw_server(
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n" + body, False),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n" + body, False),
    )
    with kolla_http.make_session("t/1") as session:
        assert session.request("GET", srv.url + "/a").content == b"abcde"
        assert session.request("GET", srv.url + "/b").content == b"abcde"
    assert len(set(srv.peers)) == 1


def test_head_and_no_content_answers_have_no_body_whatever_their_length(raw_server):
    srv = raw_server(
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nDocker-Content-Digest: sha256:bb\r\n\r\n", False),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend", False),
    )
    with kolla_http.make_session("t/1") as session:
        head = session.request("HEAD", srv.url + "/a")
        assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", "1234")
        # (a client that waited for those 7 bytes would wait for the read timeout: 5 s here)
        assert session.request("DELETE", srv.url + "/b", timeout=(5.0, 5.0)).content == b""
        assert session.request("GET", srv.url + "/c").content == b"end"
    assert len(set(srv.peers)) == 1


def test_a_garbled_answer_is_a_dropped_connection(raw_server):
    srv = raw_server((b"SSH-2.0-OpenSSH_9.2\r\n\r\n", True))
    with kolla_http.make_session("t/1") as session, pytest.raises(TransportError) as caught:
        session.request("GET", srv.url + "/a")
    assert caught.value.kind == "dropped"
