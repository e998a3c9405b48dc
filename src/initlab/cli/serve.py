"""The ``initlab serve`` command: the browser playground on a local port.

FastAPI and uvicorn are optional (``initlab[web]``) and imported only when it starts.
Listening beyond this machine (``--host 0.0.0.0``, a network address) prints a warning: the
playground then answers anyone who can reach that address.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import threading
from typing import Annotated

import typer

from initlab.cli.common import EXIT_IO, fail, load_numba_without_blas_probe, long_running
from initlab.cli.limits import MaxMemoryOption


def serve_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8000,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on (beyond loopback, anyone who can reach it may "
            "use the playground: a warning says so)."
        ),
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in a web browser.")
    ] = False,
    max_width: Annotated[int, typer.Option(help="Most units per hidden layer.")] = 64,
    max_hidden_layers: Annotated[int, typer.Option(help="Most hidden layers.")] = 8,
    max_points: Annotated[int, typer.Option(help="Most data points (train + test).")] = 2000,
    max_iterations: Annotated[int, typer.Option(help="Most iterations per run.")] = 50_000,
    max_sessions: Annotated[int, typer.Option(help="Most concurrent sessions.")] = 64,
    idle: Annotated[float, typer.Option(help="Seconds before an idle session is removed.")] = 900,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Start the playground: train and watch initializations live in the browser."""
    long_running()
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        fail("the playground needs FastAPI and uvicorn: pip install 'initlab[web]'")
    import socket

    import uvicorn

    from initlab.web.app import create_app
    from initlab.web.config import Limits

    for name, value in (("--max-width", max_width), ("--max-hidden-layers", max_hidden_layers),
                        ("--max-points", max_points), ("--max-iterations", max_iterations),
                        ("--max-sessions", max_sessions)):  # fmt: skip
        if value < 1:
            fail(f"{name} must be a positive integer, not {value}")
    if not idle > 0:
        fail(f"--idle must be a positive number of seconds, not {idle}")
    if not 0 <= port <= 65535:
        fail(f"--port must be from 0 to 65535, not {port}")
    limits = Limits(
        max_hidden_layers=max_hidden_layers, max_width=max_width, max_points=max_points,
        max_iterations=max_iterations, max_sessions=max_sessions, idle_seconds=idle,
    )  # fmt: skip
    try:
        # proto=IPPROTO_TCP, not socket.create_server's 0: asyncio sets TCP_NODELAY only on
        # connections of such a socket, and without it every response waits 40 ms for the
        # browser's delayed ACK (20 frames/s at most instead of > 100).
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_IO)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    if not is_loopback(str(address[0])):
        typer.echo(
            f"Warning: --host {host} listens beyond this machine: anyone who can reach "
            f"{shown}:{bound} on the network can use the playground (train on this machine, "
            "upload files); use --host 127.0.0.1 to keep it to this machine",
            err=True,
        )
    typer.echo(f"initlab playground: {url}  (Ctrl+C to stop)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    app = create_app(limits, hosts=(host,), port=bound)
    threading.Thread(target=warm_engine, name="initlab-warm-engine", daemon=True).start()
    config = uvicorn.Config(app, log_level="warning")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def warm_engine() -> None:
    """Load the compiled engine while the server starts and the browser fetches the page, so
    that the first step does not wait for it: Numba's import (its BLAS probe answered "none",
    :func:`~initlab.cli.common.load_numba_without_blas_probe`) and the kernel of the page's
    default network from Numba's disk cache (one iteration of it), about 0.5 s. Nothing is
    compiled here: a kernel not on disk yet compiles on first use, as it would have."""
    with contextlib.suppress(Exception):  # a warm-up that fails changes nothing
        load_numba_without_blas_probe()
        import numpy as np

        from initlab import MLP, circles, init_params
        from initlab.engine import needs_compile, train_batch

        mlp = MLP([2, 10, 5, 1])
        if not needs_compile(mlp, learning_rate=0.1):
            data = circles()
            params = init_params(mlp, np.random.default_rng(0), "he")
            train_batch(mlp, [params], data.X_train, data.y_train, iterations=1,
                        learning_rate=0.1, checkpoint_every=1, engine="numba")  # fmt: skip


def is_loopback(address: str) -> bool:
    """Whether the bound ``address`` (an IP literal) is reachable from this machine only;
    ``0.0.0.0`` and ``::`` (every interface) are not.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False
