"""Which API key a served writer sends, and to whom: a key goes only where it belongs.

- SEAL_WRITER_API_KEY goes to the writer URL given;
- OPENAI_API_KEY only to OpenAI's own API (https://api.openai.com);
- over plain http, a key goes only to a server on this machine (a loopback address, as the
  connection finds it), unless the person sets SEAL_WRITER_KEY_OVER_HTTP=1.
Keys are read from the environment when a request is made, never stored with a session.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import SplitResult

WRITER_KEY = "SEAL_WRITER_API_KEY"
OPENAI_KEY = "OPENAI_API_KEY"
OVER_HTTP = "SEAL_WRITER_KEY_OVER_HTTP"
OPENAI_HOST = "api.openai.com"


def on_this_machine(sock: socket.socket) -> bool:
    """Whether a connected socket's peer is this machine (a loopback address)."""
    try:
        address = ipaddress.ip_address(sock.getpeername()[0])
    except (OSError, ValueError, IndexError):
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def key_for(base: SplitResult, sock: socket.socket) -> tuple[str | None, str]:
    """(the key to send, or None; why a key that is set is not sent, or "")."""
    name = WRITER_KEY if os.environ.get(WRITER_KEY) else ""
    if not name and os.environ.get(OPENAI_KEY):
        if base.scheme != "https" or (base.hostname or "").lower() != OPENAI_HOST:
            return None, f"{OPENAI_KEY} is sent only to https://{OPENAI_HOST}; set {WRITER_KEY} for this server"
        name = OPENAI_KEY
    if not name:
        return None, ""
    if base.scheme == "http" and not on_this_machine(sock) and os.environ.get(OVER_HTTP) != "1":
        return None, (
            f"{name} is not sent over plain http to {base.hostname}, another machine: "
            f"use https://, or set {OVER_HTTP}=1"
        )
    return os.environ[name], ""
