"""`seal serve`: the same app in a browser, through textual-serve (the optional `serve`
extra), for a session on a machine you reach over the network (a remote GPU box).

Each page that connects starts the app in its own process on this machine, with this
machine's session home, so whoever opens the page can do what the app does here: read any
file seal may read (add a paper by its path), write, roll back and export sessions, and
train on this machine. So it listens on the loopback address unless the person names
another with --host and says --expose; then it prints what that exposes before serving.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys

from seal_cli.common import UsageError

INSTALL = 'seal serve needs textual-serve: .venv/bin/pip install -e ".[serve]"'
DEFAULT_PORT = 8000


def add_parser(sub) -> None:
    serve = sub.add_parser("serve", help="the app in a browser (textual-serve), on this machine's sessions")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument(
        "--expose",
        action="store_true",
        help="needed to listen on an address other machines can reach: whoever reaches it can use seal here",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use when it is not http://HOST:PORT (a proxy, or a tunnel on another port)",
    )
    serve.set_defaults(handler=cmd_serve)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def app_command() -> str:
    """The command textual-serve runs for each page: this Python's `seal` (bare: the app)."""
    return shlex.join([sys.executable, "-m", "seal_cli.main"])


def page_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve_app(command: str, host: str, port: int, public_url: str) -> None:
    """Serve until Ctrl+C (textual-serve's server)."""
    from textual_serve.server import Server

    Server(command, host=host, port=port, title="seal", public_url=public_url).serve()


def cmd_serve(args) -> int:
    from engine.sessions.home import Home

    try:
        import textual_serve.server  # noqa: F401  # the optional extra
    except ImportError:
        raise UsageError(INSTALL) from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1..65535, got {args.port}")
    home = Home()
    home.close()
    url = args.public_url or page_url(args.host, args.port)
    if not is_loopback(args.host):
        if not args.expose:
            raise UsageError(
                f"--host {args.host} can be reached from other machines, and whoever opens the page uses seal "
                "as you do here; add --expose to mean it (or keep the default 127.0.0.1 and use an SSH tunnel)"
            )
        print(
            f"seal serve: exposing the app on {url}: anyone who can reach port {args.port} of this machine, "
            f"with no password, can open it and use seal as you do here: the sessions in {home.path} "
            "(read, write, roll back, export), any file seal may read (a paper's path), and this machine's "
            "processors for training. Ctrl+C stops it.",
            flush=True,
        )
    else:
        print(
            f"seal serve: open {url} in a browser on this machine (from another: ssh -L "
            f"{args.port}:127.0.0.1:{args.port} THIS-MACHINE, then the same address). Sessions: {home.path}. "
            "Ctrl+C stops it.",
            flush=True,
        )
    try:
        serve_app(app_command(), args.host, args.port, url)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0
