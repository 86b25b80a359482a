"""A TCP server that answers HTTP requests with bytes a test writes, verbatim.

For what http.server would not send (interim answers, HTTP/1.0, folded fields, a
garbled status line) and for seeing exactly what a client put on the wire.
"""

from __future__ import annotations

import socket
import threading


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


class RawServer:
    """Answers each request with the next of ``answers`` (the bytes, and whether to close the
    connection after them); records each request's head (``requests``), its body when the head
    gives a Content-Length (``bodies``) and the client port it came from (``peers``)."""

    def __init__(self, answers: list[tuple[bytes, bool]]) -> None:
        self.answers = list(answers)
        self.peers: list[int] = []
        self.requests: list[bytes] = []
        self.bodies: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn, peer[1]), daemon=True).start()

    def _connection(self, conn: socket.socket, port: int) -> None:
        with conn:
            buffered = b""
            while self.answers:
                while b"\r\n\r\n" not in buffered:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffered += data
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                length = _content_length(head)
                while len(buffered) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffered += data
                self.requests.append(head)
                self.bodies.append(buffered[:length])
                self.peers.append(port)
                buffered = buffered[length:]
                answer, close = self.answers.pop(0)
                conn.sendall(answer)
                if close:
                    return

    def close(self) -> None:
        self.sock.close()
