"""A tiny OpenAI-compatible chat server on a free local port (standard library only), for the
served writer's fast tests and bench/served_latency.py: it streams scripted replies as
server-sent events, or misbehaves as a Reply asks (an HTTP error, a malformed line, a stall,
an empty reply, a stream cut short; a stream without end, one enormous line, a byte at a
time, an enormous JSON body). It records every request and when it flushed each reply's
first piece.

    with StubServer([Reply(["Hello", " world"])]) as server:
        Pair(ServedWriter(server.url), learner) ...

As a command, one misbehaving server until it is stopped (bench/served_bounds.py):

    python -m tools.openai_stub endless|long-line|drip|big-body [--port N]
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """One answer to a chat request."""

    pieces: list[str] = field(default_factory=lambda: ["Quenby ", "is ", "cold."])
    status: int = 200
    error: object = None
    """The JSON body of an HTTP error (with status >= 400)."""
    lines: list[str] | None = None
    """Exact `data:` payloads to send instead of the pieces' chunks (a malformed stream)."""
    stall: float = 0.0
    """Seconds to wait before the first piece (until the server closes)."""
    delay: float = 0.0
    """Seconds between pieces."""
    done: bool = True
    """End with `data: [DONE]` (False: the stream just stops, unfinished)."""
    endless: bool = False
    """Send the pieces again and again, never finishing (until the client goes)."""
    line_bytes: int = 0
    """Send one content piece this many bytes long, as a single line."""
    drip: float = 0.0
    """Send the whole stream one byte at a time, this many seconds apart."""
    body_bytes: int = 0
    """Answer with one JSON body (no stream) whose content is this many bytes long."""


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that went away mid-reply (a stop, a cap, a deadline) is not an error here."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict


class StubServer:
    """Serves /v1/models and /v1/chat/completions; replies are used in order, the last one again."""

    def __init__(self, replies: list[Reply] | None = None, models: tuple[str, ...] = ("stub-model",), port: int = 0):
        self.replies = list(replies or [Reply()])
        self.models = models
        self.requests: list[Request] = []
        self.first_piece_at: list[float] = []
        """time.perf_counter() when each reply's first piece was flushed."""
        self.closed = threading.Event()
        self._server = _QuietServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="openai-stub")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.closed.set()  # a stalled reply ends now
        self._server.shutdown()
        self._server.server_close()

    def next_reply(self) -> Reply:
        count = sum(r.path.endswith("/chat/completions") for r in self.requests)
        return self.replies[min(count, len(self.replies)) - 1]


def _chunk(content: str | None, finish: str | None = None) -> str:
    delta = {} if content is None else {"content": content}
    return json.dumps(
        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    )


def _handler(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _event(self, payload: str) -> None:
            data = f"data: {payload}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))  # one HTTP chunk, sent now

        def do_GET(self) -> None:
            stub.requests.append(Request(self.path, dict(self.headers), {}))
            if self.path.rstrip("/").endswith("/v1/models"):
                self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in stub.models]})
            else:
                self._json(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            stub.requests.append(Request(self.path, dict(self.headers), body))
            if not self.path.endswith("/v1/chat/completions"):
                self._json(404, {"detail": "Not Found"})
                return
            reply = stub.next_reply()
            if reply.status >= 400:
                self._json(reply.status, reply.error if reply.error is not None else {})
                return
            if reply.body_bytes:
                self._big_body(reply.body_bytes)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                self._stream(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away (a stop)

        def _stream(self, reply: Reply) -> None:
            if reply.stall and stub.closed.wait(reply.stall):
                return
            if reply.drip:
                self._drip(reply)
                return
            self._event(json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
            if reply.line_bytes:
                self._long_line(reply.line_bytes)
            payloads = reply.lines if reply.lines is not None else [_chunk(p) for p in reply.pieces]
            while True:
                for i, payload in enumerate(payloads):
                    if i and reply.delay and stub.closed.wait(reply.delay):
                        return
                    self._event(payload)
                    if i == 0:
                        stub.first_piece_at.append(time.perf_counter())
                if not reply.endless or stub.closed.is_set():
                    break
            if reply.done:
                self._event(_chunk(None, "stop"))
                self._event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")

        def _send_chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def _long_line(self, size: int) -> None:
            """One data line of `size` bytes of content, sent a MiB at a time."""
            head, tail = _chunk("\x00").split("\\u0000")
            self._send_chunk(b"data: " + head.encode())
            for start in range(0, size, 1 << 20):
                if stub.closed.is_set():
                    return
                self._send_chunk(b"x" * min(1 << 20, size - start))
            self._send_chunk(tail.encode() + b"\n\n")

        def _drip(self, reply: Reply) -> None:
            """The whole stream, one byte per HTTP chunk, reply.drip seconds apart."""
            events = [_chunk(p) for p in reply.pieces] + [_chunk(None, "stop"), "[DONE]"]
            for byte in "".join(f"data: {e}\n\n" for e in events).encode():
                if stub.closed.wait(reply.drip):
                    return
                self._send_chunk(bytes([byte]))
            self.wfile.write(b"0\r\n\r\n")

        def _big_body(self, size: int) -> None:
            """One JSON answer (no stream) whose content is `size` bytes, sent a MiB at a time."""
            head = b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "'
            tail = b'"}, "finish_reason": "length"}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(head) + size + len(tail)))
            self.end_headers()
            try:
                self.wfile.write(head)
                for start in range(0, size, 1 << 20):
                    if stub.closed.is_set():
                        return
                    self.wfile.write(b"x" * min(1 << 20, size - start))
                self.wfile.write(tail)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading

    return Handler


MODES = {
    "endless": Reply(["- The Velmora ", "Observatory ", "stands on Quenby. "], endless=True),
    "long-line": Reply(line_bytes=50_000_000),
    "drip": Reply(["- The Velmora Observatory was founded in 1873."], drip=5.0),
    "big-body": Reply(body_bytes=50_000_000),
}
"""The misbehaving servers the command serves, by name."""


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="a misbehaving OpenAI-compatible server, until stopped")
    parser.add_argument("mode", choices=list(MODES))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    stub = StubServer([MODES[args.mode]], port=args.port)
    print(stub.url, flush=True)
    stub._server.serve_forever()


if __name__ == "__main__":
    main()
