"""How much of a served writer's reply is read, and for how long: whatever the server does,
one reply costs bounded memory and time.

- Each line of a stream is read up to LINE_BYTES, and a whole reply (stream or JSON body)
  up to REPLY_BYTES; a server that sends more is refused (Breach).
- A candidate ends at `max_tokens` however many the server sends: counted as pieces (a
  server sends about one token per piece) and as text (at most CHARS_PER_TOKEN characters
  per token, and never more than TEXT_BYTES), so at most that much is ever stored.
- The whole reply, from the connection on, has a deadline (ModelConfig.writer_timeout): a
  Watch shuts the connection when it passes, or when a stop is set, so a server that sends a
  byte at a time ends there too.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from threading import Event

LINE_BYTES = 64 << 10
REPLY_BYTES = 1 << 20
TEXT_BYTES = 64 << 10
CHARS_PER_TOKEN = 8


class Breach(Exception):
    """The server sent more than a reply may hold; the message completes "the writer at URL ..."."""


def size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and not n % (1 << 20) else f"{n >> 10} KiB"


class Budget:
    """What is left of one candidate: `take` hands back the part of a piece that fits."""

    def __init__(self, max_tokens: int):
        self.pieces_left = max_tokens
        self.chars_left = max_tokens * CHARS_PER_TOKEN
        self.bytes_left = TEXT_BYTES

    def take(self, piece: str) -> str:
        if self.full or not piece:
            return ""
        piece = piece[: self.chars_left]
        data = piece.encode("utf-8")[: self.bytes_left]
        piece = data.decode("utf-8", "ignore")  # a character cut in two is dropped
        self.pieces_left -= 1
        self.chars_left -= len(piece)
        self.bytes_left -= len(piece.encode("utf-8"))
        return piece

    @property
    def full(self) -> bool:
        return self.pieces_left <= 0 or self.chars_left <= 0 or self.bytes_left <= 0


def lines(response: http.client.HTTPResponse, line_bytes: int, reply_bytes: int) -> Iterator[bytes]:
    """The lines of a streamed reply, each and all together within their caps."""
    total = 0
    while True:
        line = response.readline(line_bytes + 1)
        if not line:
            return
        if len(line) > line_bytes and not line.endswith(b"\n"):
            raise Breach(f"sent a stream line longer than {size(line_bytes)}")
        total += len(line)
        if total > reply_bytes:
            raise Breach(f"sent more than {size(reply_bytes)} without finishing its reply")
        yield line


def body(response: http.client.HTTPResponse, reply_bytes: int) -> bytes:
    """A whole (not streamed) reply within its cap."""
    data = response.read(reply_bytes + 1)
    if len(data) > reply_bytes:
        raise Breach(f"sent a reply larger than {size(reply_bytes)}")
    return data


class Watch:
    """Shuts a connection's socket once `stop` is set or `seconds` have passed since it was
    made (then `expired`), so a read waiting on the server ends now; `done` ends the watch."""

    def __init__(self, stop: Event | None, seconds: float):
        self.done = Event()
        self.expired = False
        self.seconds = seconds
        self._stop = stop
        self._deadline = time.monotonic() + seconds

    def watch(self, conn: http.client.HTTPConnection) -> None:
        threading.Thread(target=self._watch, args=(conn,), daemon=True, name="writer-watch").start()

    def _watch(self, conn: http.client.HTTPConnection) -> None:
        while not self.done.wait(0.05):
            stopped = self._stop is not None and self._stop.is_set()
            if stopped or time.monotonic() >= self._deadline:
                self.expired = not stopped
                if conn.sock is not None:
                    try:
                        conn.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
