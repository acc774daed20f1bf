"""A served writer: self-edits from any OpenAI-compatible chat endpoint (llama.cpp's server,
vLLM, Ollama, a hosted API), streamed piece by piece. ServedWriter plays the writer role
alone (engine.runtime.protocol.Writer); engine.runtime.factory pairs it with the local model,
which still learns and scores (engine.runtime.pair).

Standard library only (http.client), so the default install needs nothing more. The API key
comes from the environment and goes only where it belongs (engine.runtime.writer_keys), never
from the session's settings. A reply costs bounded memory and time whatever the server does
(engine.runtime.served_reply: caps on lines and replies, max_tokens counted as it arrives, a
whole-reply deadline). Every failure to write is a WriterError: one sentence that names the
URL and the cause.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from engine.runtime import served_reply as reply
from engine.runtime.protocol import Steps
from engine.runtime.served_reply import Breach, Budget, Watch
from engine.runtime.writer_keys import WRITER_KEY, key_for

if TYPE_CHECKING:
    from engine.config import GenerationConfig, ModelConfig

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
"""Longest wait for the server's answer, and then between two pieces of its stream."""
REPLY_TIMEOUT_S = 300.0
"""Longest a whole reply may take, from the connection on (ModelConfig.writer_timeout)."""


class WriterError(Exception):
    """The served writer could not write: unreachable, refused, timed out, an HTTP error or
    a stream that is not an OpenAI chat stream. The message is one sentence for people."""


def api_base(url: str) -> str:
    """The API root of a server URL given with or without its /v1: http://h:8000 -> http://h:8000/v1."""
    base = url.strip().rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


class ServedWriter:
    """A writer whose self-edits come from a served model."""

    def __init__(
        self,
        url: str,
        model: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        reply_timeout: float = REPLY_TIMEOUT_S,
        line_bytes: int = reply.LINE_BYTES,
        reply_bytes: int = reply.REPLY_BYTES,
    ):
        self.url = url.strip().rstrip("/")
        self.base = urlsplit(api_base(url))
        self.model = model
        """The model name sent to the server; None: the first of GET /v1/models, asked once."""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.reply_timeout = reply_timeout
        self.line_bytes, self.reply_bytes = line_bytes, reply_bytes
        self._withheld = ""
        self._sent = False
        """Why a key that is set was not sent on the last request (the 401 hint says it)."""

    @classmethod
    def of(cls, model: ModelConfig) -> ServedWriter:
        """The served writer a session's model settings ask for."""
        assert model.writer_url  # the factory builds one only then
        return cls(model.writer_url, model.writer_model, reply_timeout=model.writer_timeout)

    def who(self, version: int) -> str:
        """Who writes, as each self-edit records it, at any version: served: MODEL at HOST:PORT."""
        model = self.model or "the served model"
        shown = Path(model).name if model.startswith("/") else model  # llama.cpp's server names a file
        return f"served: {shown} at {self.base.netloc}"

    # -- writing: the server's ------------------------------------------------------
    def writer_steps(self) -> Steps:
        """Nothing to load: the server is first asked when a self-edit is written."""
        return []

    def close(self) -> None:
        """Nothing to free: each reply has its own connection, closed when it ends."""

    def activate(self, adapter: Path | None, editor: Path | None = None, editor_scale: float = 1.0) -> float | None:
        """Nothing to switch: the served model writes whatever version the session is at."""
        return None

    def stream_chat(self, messages: list[dict], config: GenerationConfig, stop: Event | None = None) -> Iterator[str]:
        """The server's reply, piece by piece as its stream arrives; a set `stop` closes the connection."""
        body = {
            "model": self.served_model(),
            "messages": messages,
            "stream": True,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "max_tokens": config.max_tokens,
        }
        if config.seed is not None:
            body["seed"] = config.seed
        watch = Watch(stop, self.reply_timeout)
        try:
            conn, response = self._open("POST", "/chat/completions", body, watch)
        except WriterError:
            watch.done.set()
            if stop is not None and stop.is_set():
                return  # the stop closed the connection while the server had not answered yet
            raise
        budget = Budget(config.max_tokens)
        try:
            if "json" in (response.getheader("Content-Type") or ""):  # a server that does not stream
                yield from self._whole(response, budget, watch)
            else:
                yield from self._pieces(response, stop, budget, watch)
        except Breach as exc:
            raise WriterError(self._late() if watch.expired else f"the writer at {self.url} {exc}") from None
        except WriterError:
            if watch.expired:  # what the cut left (half a line) is not the server's fault
                raise WriterError(self._late()) from None
            raise
        finally:
            watch.done.set()
            conn.close()

    def served_model(self) -> str:
        """writer_model, else the first model the server lists, else "default"."""
        if self.model is None:
            watch = Watch(None, self.reply_timeout)
            conn, response = self._open("GET", "/models", None, watch, refuse_status=False)
            try:
                listed = json.loads(reply.body(response, self.reply_bytes)) if response.status < 400 else {}
                self.model = str(listed["data"][0]["id"])
            except (ValueError, LookupError, TypeError, OSError, http.client.HTTPException, Breach):
                if watch.expired:
                    raise WriterError(self._late()) from None
                self.model = "default"
            finally:
                watch.done.set()
                conn.close()
        return self.model

    # -- HTTP -----------------------------------------------------------------------
    def _open(
        self, method: str, path: str, body: dict | None, watch: Watch, refuse_status: bool = True
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request; WriterError for anything but an answer (and an HTTP error status).
        The watch follows the connection from the moment it is made."""
        host = self.base.hostname or ""
        cls = http.client.HTTPSConnection if self.base.scheme == "https" else http.client.HTTPConnection
        conn = cls(host, self.base.port, timeout=self.connect_timeout)
        headers = {"Accept": "text/event-stream" if body and body.get("stream") else "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        stage = "connect"
        try:
            conn.connect()
            assert conn.sock is not None  # connect() sets it or raises
            conn.sock.settimeout(self.read_timeout)
            watch.watch(conn)
            key, self._withheld = key_for(self.base, conn.sock)
            self._sent = bool(key)
            if key:
                headers["Authorization"] = f"Bearer {key}"
            stage = "answer"
            conn.request(method, self.base.path + path, None if body is None else json.dumps(body), headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise WriterError(self._late() if watch.expired else self._cause(exc, stage, host)) from None
        if refuse_status and response.status >= 400:
            detail = _error_detail(response)
            conn.close()
            raise WriterError(
                f"the writer at {self.url} answered HTTP {response.status}: {detail}{self._hint(response.status)}"
            )
        return conn, response

    def _late(self) -> str:
        return f"the writer at {self.url} did not finish its reply within {self.reply_timeout:g} s"

    def _hint(self, status: int) -> str:
        if status in (401, 403):
            why = self._withheld or ("the key sent is not accepted" if self._sent else f"{WRITER_KEY} is not set")
            return f" ({why})"
        if status == 404:
            return " (is it an OpenAI-compatible server, and does it serve that model?)"
        return ""

    def _cause(self, exc: BaseException, stage: str, host: str) -> str:
        if isinstance(exc, TimeoutError):
            if stage == "connect":
                return f"cannot reach the writer at {self.url}: no answer within {self.connect_timeout:g} s"
            return f"the writer at {self.url} sent nothing for {self.read_timeout:g} s"
        if isinstance(exc, ConnectionRefusedError):
            return f"cannot reach the writer at {self.url}: the connection was refused (is the server running?)"
        if isinstance(exc, socket.gaierror):
            return f"cannot reach the writer at {self.url}: the host name {host!r} is not known"
        if isinstance(exc, ssl.SSLError):
            return f"cannot reach the writer at {self.url}: TLS failed ({exc.reason or exc})"
        if isinstance(exc, http.client.RemoteDisconnected):
            return f"the writer at {self.url} closed the connection without answering"
        if isinstance(exc, http.client.HTTPException):
            return f"the writer at {self.url} did not answer as an HTTP server ({type(exc).__name__})"
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return f"cannot reach the writer at {self.url}: {_one_line(reason)}"

    # -- the stream -----------------------------------------------------------------
    def _pieces(
        self, response: http.client.HTTPResponse, stop: Event | None, budget: Budget, watch: Watch
    ) -> Iterator[str]:
        """The `choices[0].delta.content` of each `data:` line of a server-sent event stream.
        The reply is complete at `data: [DONE]`, a finish_reason, or once the budget is
        spent (the rest is not read); empty, it is an error."""
        complete = wrote = False
        try:
            for raw in reply.lines(response, self.line_bytes, self.reply_bytes):
                if stop is not None and stop.is_set():
                    return
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue  # blank lines, comments, event: and id: fields
                data = line[5:].strip()
                if data == "[DONE]":
                    complete = True
                    break
                piece, finished = self._chunk(data)
                complete = complete or finished
                if piece := budget.take(piece):
                    wrote = True
                    yield piece
                if budget.full:
                    complete = True  # max_tokens reached: a candidate as long as a local one may be
                    break
        except (OSError, http.client.HTTPException) as exc:
            if stop is not None and stop.is_set():
                return  # the stop closed the connection under the read
            if watch.expired:
                raise WriterError(self._late()) from None
            if isinstance(exc, TimeoutError):
                raise WriterError(f"the writer at {self.url} sent nothing for {self.read_timeout:g} s") from None
            raise WriterError(f"the writer at {self.url} broke off its stream ({_one_line(str(exc))})") from None
        if stop is not None and stop.is_set():
            return
        if watch.expired and not complete:
            raise WriterError(self._late())
        if not complete:
            raise WriterError(f"the writer at {self.url} ended its stream before the reply was complete")
        if not wrote:
            raise WriterError(f"the writer at {self.url} sent an empty reply")

    def _chunk(self, data: str) -> tuple[str, bool]:
        """(content piece, whether the choice finished) of one stream chunk."""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise self._malformed(f"a data line that is not JSON ({data[:60]!r})") from None
        if not isinstance(chunk, dict):
            raise self._malformed(f"a data line that is not a JSON object ({data[:60]!r})")
        if "error" in chunk:
            raise WriterError(f"the writer at {self.url} reported an error: {_message(chunk)}")
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            raise self._malformed("a chunk without choices")
        if not choices:
            return "", False  # e.g. a usage chunk
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            raise self._malformed("a choice without a delta")
        piece = delta.get("content") or ""
        if not isinstance(piece, str):
            raise self._malformed("a delta whose content is not text")
        return piece, bool(choice.get("finish_reason"))

    def _whole(self, response: http.client.HTTPResponse, budget: Budget, watch: Watch) -> Iterator[str]:
        """The reply of a server that answered with one JSON body instead of a stream."""
        try:
            data = reply.body(response, self.reply_bytes)
        except (OSError, http.client.HTTPException) as exc:
            if watch.expired:
                raise WriterError(self._late()) from None
            raise WriterError(f"the writer at {self.url} broke off its reply ({_one_line(str(exc))})") from None
        try:
            text = json.loads(data)["choices"][0]["message"]["content"]
        except (ValueError, LookupError, TypeError):
            raise self._malformed("a JSON answer without choices[0].message.content") from None
        if not isinstance(text, str) or not text:
            raise WriterError(f"the writer at {self.url} sent an empty reply")
        yield budget.take(text)

    def _malformed(self, what: str) -> WriterError:
        return WriterError(f"the writer at {self.url} sent a malformed stream: {what}")


def _error_detail(response: http.client.HTTPResponse) -> str:
    """The server's short error message from a JSON error body, else the status's reason."""
    try:
        return _message(json.loads(response.read(1 << 16)))
    except (ValueError, OSError, http.client.HTTPException):
        return _one_line(response.reason or "no reason given")


def _message(body: object) -> str:
    """The message of an OpenAI ({"error": {"message"}}), Ollama ({"error"}) or FastAPI
    ({"detail"}) error body, on one line and cut short."""
    found: object = body
    for key in ("error", "detail", "message"):
        if isinstance(found, dict) and key in found:
            found = found[key]
    if isinstance(found, dict):
        found = found.get("message", found)
    if isinstance(found, list) and found and isinstance(found[0], dict):  # FastAPI validation errors
        found = found[0].get("msg", found[0])
    return _one_line(str(found))


def _one_line(text: str, most: int = 200) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= most else text[: most - 1] + "…"
