"""The playground's web server: the page, its static files and the JSON API.

``create_app()`` returns a FastAPI application; ``initlab serve`` runs it with uvicorn on
127.0.0.1. The API is described in ``docs/playground-api.md``. Errors are JSON
``{"error": message}`` with a 4xx status; a request that fails — bad JSON, an unknown name,
a value over a limit, even a bug — fails alone: the server and the other sessions go on.
Only the playground's own page can drive it (:mod:`initlab.web.security`: a Host check, an
origin check and a token the page holds, and security headers on every response).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from initlab.web import frames
from initlab.web.choices import options
from initlab.web.config import (
    ConfigError,
    Limits,
    PlaygroundConfig,
    check_inputs,
    check_int,
    check_memory,
    generated_shape,
    parse_config,
    to_spec,
)
from initlab.web.fairness import LOCAL
from initlab.web.security import TOKEN_META, Guard, new_token, response_headers
from initlab.web.session import (
    CURVE_EVERY,
    Session,
    SessionError,
    SessionStore,
    TooManySessions,
    UploadStore,
)

STATIC = Path(__file__).parent / "static"
JsonBody = Annotated[Any, Body()]
"""Any JSON: bodies are validated by initlab's own checks, whose messages name the field."""
log = logging.getLogger("initlab.web")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _client(request: Request) -> str:
    """Who sent the request, for the stores' per-client shares: its network address."""
    return request.client.host if request.client else LOCAL


@contextlib.contextmanager
def overflow_is_input(config: PlaygroundConfig) -> Iterator[None]:
    """Building a session, an :class:`ArithmeticError` (a uniform bound or a variance that
    overflows float64) comes from the initializers' arguments — every other number of a
    configuration is bounded — so it is a :class:`ConfigError` naming them. Weights that
    merely overflow to ±inf (``random`` with ``scale=1e308``) are built quietly: the run
    then says it diverged."""
    try:
        with np.errstate(all="ignore"):
            yield
    except ArithmeticError as exc:
        given = "; ".join(
            f"inits[{k}] = {init!r}" for k, init in enumerate(config.init_configs) if len(init) > 1
        )
        raise ConfigError(
            f"inits: the initial weights overflow float64 ({exc}) with {given or 'these inits'};"
            " give smaller arguments"
        ) from None


def page_with_token(token: str) -> str:
    """``index.html`` with the server's token in its ``<meta name="initlab-token">``."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    empty = f'<meta name="{TOKEN_META}" content="">'
    if empty not in html:
        raise RuntimeError(f"static/index.html lacks {empty}")
    return html.replace(empty, f'<meta name="{TOKEN_META}" content="{token}">')


def _object(body: object) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, bytes | str):
        raise ConfigError("The request body is not valid JSON; send a JSON object")
    if not isinstance(body, dict):
        raise ConfigError(f"The request body must be a JSON object; received {body!r}")
    return body


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 before the app reads it
    (declared by Content-Length, or counted as it streams in). Uploads have their own limit."""

    def __init__(self, app: ASGIApp, limit: int, exempt: str) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == self.exempt:
            await self.app(scope, receive, send)
            return
        message = (
            f"The request body is larger than this server's limit of {self.limit:,} bytes "
            "for a request (a configuration needs well under 1 KiB)"
        )
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _error(413, message)(scope, receive, send)
            return
        # Bodies here are small: read one whole (stopping past the limit), then replay it.
        chunks, size, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            more = msg.get("more_body", False)
            if size > self.limit:
                await _error(413, message)(scope, receive, send)
                return
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(
    limits: Limits | None = None,
    *,
    token: str | None = None,
    hosts: tuple[str, ...] = (),
    port: int | None = None,
) -> FastAPI:
    """The playground application, with its own sessions and uploads.

    ``token`` is the secret its page holds and every state-changing request must send
    (default: a new random one, in ``app.state.token``); ``hosts`` are the names it answers
    to besides the loopback ones, ``port`` the port it listens on (default: each
    connection's own) — see :class:`~initlab.web.security.Guard`."""
    limits = limits or Limits()
    token = token or new_token()
    page = page_with_token(token)
    uploads = UploadStore(limits)
    store = SessionStore(limits, uploads)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def sweep_idle() -> None:
            while True:
                await asyncio.sleep(max(1.0, min(60.0, limits.idle_seconds / 4)))
                store.expire()

        task = asyncio.create_task(sweep_idle())
        try:
            yield
        finally:
            task.cancel()
            uploads.close()

    app = FastAPI(title="initlab playground", lifespan=lifespan, docs_url="/api/docs",
                  redoc_url=None, openapi_url="/api/openapi.json")  # fmt: skip
    app.add_middleware(BodyLimit, limit=limits.max_request_bytes, exempt="/api/uploads")
    app.add_middleware(Guard, token=token, hosts=hosts, port=port)  # the outermost: first
    app.state.token = token
    app.state.store = store
    app.state.uploads = uploads
    app.state.limits = limits

    @app.exception_handler(ConfigError)
    async def config_error(request: Request, exc: ConfigError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(SessionError)
    async def session_error(request: Request, exc: SessionError) -> JSONResponse:
        return _error(404, str(exc.args[0]))

    @app.exception_handler(TooManySessions)
    async def too_many(request: Request, exc: TooManySessions) -> JSONResponse:
        return _error(429, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors():
            if e.get("type") == "json_invalid":
                detail = (e.get("ctx") or {}).get("error", "")
                return _error(422, f"The request body is not valid JSON ({detail}); send a JSON "
                                   "object")  # fmt: skip
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
        return _error(422, "Malformed request: " + "; ".join(parts))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s %s failed", request.method, request.url.path)
        response = _error(500, f"Internal error ({type(exc).__name__}: {exc}); the server goes on")
        response.headers.update(response_headers())  # this handler runs outside Guard
        return response

    # -- the page --------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        # no-store: the token changes at every start, a cached page would hold a stale one
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- the API -----------------------------------------------------------------------------

    @app.get("/api/options")
    def get_options() -> dict[str, Any]:
        return options(limits)

    def checked(body: object) -> PlaygroundConfig:
        """The body's configuration, validated, and its memory estimated before building."""
        config = parse_config(_object(body), limits, uploads)
        if config.upload_id is not None:
            upload = uploads.get(config.upload_id)
            shape = (upload.rows, upload.features, upload.classes)
        else:
            shape = generated_shape(config)
        check_inputs(config, shape[1])
        check_memory(config, limits, shape, CURVE_EVERY)
        return config

    def payload(session: Session) -> dict[str, Any]:
        return {
            "session": session.id,
            "data": frames.data_payload(session),
            "frame": frames.frame(session),
        }

    @app.post("/api/sessions", status_code=201)
    def create_session(request: Request, body: JsonBody = None) -> dict[str, Any]:
        config = checked(body)
        with overflow_is_input(config):
            session = store.create(config, _client(request))
        with session.lock:
            return payload(session)

    @app.put("/api/sessions/{session_id}")
    def configure(session_id: str, body: JsonBody = None) -> dict[str, Any]:
        session = store.get(session_id)
        config = checked(body)
        with session.lock, overflow_is_input(config):
            session.configure(config)
            return payload(session)

    @app.post("/api/sessions/{session_id}/step")
    def step(session_id: str, body: JsonBody = None) -> dict[str, Any]:
        session = store.get(session_id)
        request = _object(body)
        iterations = check_int("iterations", request.get("iterations", 1), 1, limits.max_step)
        since = check_int("since", request.get("since", -1), -1, 2**62)
        with session.lock:
            session.step(iterations)
            session.touch()
            return frames.frame(session, since)

    @app.get("/api/sessions/{session_id}/frame")
    def get_frame(session_id: str, since: int = -1) -> dict[str, Any]:
        session = store.get(session_id)
        with session.lock:
            return frames.frame(session, since)

    @app.post("/api/sessions/{session_id}/reset")
    def reset(session_id: str, body: JsonBody = None) -> dict[str, Any]:
        session = store.get(session_id)
        request = _object(body)
        seed = request.get("seed")
        if seed is not None:
            seed = check_int("seed", seed, 0, 2**32 - 1)
        with session.lock, overflow_is_input(session.config):
            session.configure(session.config, seed=seed)
            return payload(session)

    @app.delete("/api/sessions/{session_id}", status_code=204)
    def delete(session_id: str) -> Response:
        store.delete(session_id)
        return Response(status_code=204)

    @app.get("/api/sessions/{session_id}/export/spec")
    def export_spec(session_id: str) -> PlainTextResponse:
        session = store.get(session_id)
        with session.lock:
            text = to_spec(session.config, session.mlp.layer_sizes, session.iteration,
                           session.upload_name, upload_task=session.upload_task,
                           planned=limits.max_iterations)  # fmt: skip
        return PlainTextResponse(
            text,
            headers={"Content-Disposition": 'attachment; filename="initlab-playground.toml"'},
        )

    @app.get("/api/sessions/{session_id}/export/results")
    def export_results(session_id: str) -> JSONResponse:
        session = store.get(session_id)
        with session.lock:
            content = frames.results(session)
        return JSONResponse(
            content,
            headers={
                "Content-Disposition": 'attachment; filename="initlab-playground-results.json"'
            },
        )

    @app.post("/api/uploads", status_code=201)
    async def upload(
        request: Request, name: str = "upload.csv", task: str = "classification"
    ) -> Any:
        limit = limits.max_upload_bytes
        declared = request.headers.get("content-length")
        too_big = (
            f"The upload is larger than this server's limit of {limit:,} bytes "
            f"({limit / 1024:g} KiB); use a smaller CSV file"
        )
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _error(413, too_big)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return _error(413, too_big)
            chunks.append(chunk)
        if size == 0:
            raise ConfigError("The upload is empty; send a CSV file with a header row")
        content = b"".join(chunks)
        item = await asyncio.to_thread(uploads.add, name, content, _client(request), task)
        return JSONResponse(
            {
                "dataset": f"upload:{item.id}",
                "name": item.name,
                "rows": item.rows,
                "features": item.features,
                "classes": item.classes,
                "task": item.task,
            },
            status_code=201,
        )

    return app
