"""The playground answers its own page only (issue 13), through real servers.

- A page of another origin — served by a second local server on another port, loaded in
  headless Chromium — sends what any page may send without asking: bodyless and bodied
  ``fetch(…, {method: "POST", mode: "no-cors"})`` and form POSTs, to create sessions and
  upload files. Every one reaches the playground and is refused; nothing is created. The
  playground's own page, in the same browser, works.
- ``initlab serve --port 0`` knows the port it got: its Host check accepts that port under
  every loopback name and refuses others; ``--host`` beyond loopback prints one warning.
- The stores' per-client shares (:mod:`initlab.web.fairness`), directly.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the playground needs the web extra: initlab[web]")

from initlab.web.config import Limits, parse_config
from initlab.web.fairness import Holdings
from initlab.web.session import SessionStore, TooManySessions, UploadStore
from tests.web.test_e2e import TIMEOUT, _imports, browser, js, load, wait  # noqa: F401

CSV = "x1,x2,label\\n" + "".join(f"{k % 7},{k % 5},{k % 2}\\n" for k in range(40))
"""A small CSV file, escaped for a JavaScript string."""

ATTACK = """<!doctype html>
<html><head><title>attack</title></head><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="f1" method="POST" enctype="text/plain" target="sink1" action="{target}/api/sessions">
  <input name='{{"inits":[{{"name":"he"}}],"x":"' value='"}}'></form>
<form id="f2" method="POST" enctype="multipart/form-data" target="sink2"
      action="{target}/api/uploads?name=form.csv"><input name="file" value="a,b"></form>
<script>
(async () => {{
  const tries = [
    fetch("{target}/api/sessions", {{method: "POST", mode: "no-cors"}}),
    fetch("{target}/api/sessions", {{method: "POST", mode: "no-cors", body: "{{}}",
                                    headers: {{"Content-Type": "text/plain"}}}}),
    fetch("{target}/api/uploads?name=evil.csv", {{method: "POST", mode: "no-cors",
                                                body: "{csv}"}}),
    fetch("{target}/api/sessions", {{method: "POST", mode: "cors", body: "{{}}",
      headers: {{"Content-Type": "application/json", "X-Initlab-Token": "stolen?"}}}})
      .catch((e) => "blocked: " + e.message),
  ];
  document.getElementById("f1").submit();
  document.getElementById("f2").submit();
  const results = await Promise.allSettled(tries);
  window.attackResults = results.map((r) => r.status + ":" + (r.value?.type ?? r.value ?? r.reason));
  document.title = "done";
}})();
</script></body></html>
"""
"""The other origin's page: four fetches (two bodyless or plain "simple" requests, an upload,
and a CORS request with a guessed token, which the browser must preflight) and two forms."""


class Recorder:
    """ASGI wrapper that keeps (method, path, origin, status) of every HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app, self.seen = app, []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        entry = [scope["method"], scope["path"], headers.get(b"origin", b"").decode(), None]
        self.seen.append(entry)

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry[3] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def playground() -> Iterator[tuple[str, Any, Recorder]]:
    """The real app under uvicorn in a thread: its URL, the app and the request recorder."""
    uvicorn, *_, create_app = _imports()
    app = create_app()
    recorder = Recorder(app)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the playground server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", app, recorder
    server.should_exit = True
    thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def attacker(playground) -> Iterator[str]:
    """A second local server, on another port, serving the attacking page."""
    page = ATTACK.format(target=playground[0], csv=CSV).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_another_origins_page_cannot_create_sessions_or_uploads(browser, playground, attacker):  # noqa: F811
    url, app, recorder = playground
    uploads_dir = app.state.uploads._dir.name
    browser.get(attacker)
    wait(browser, lambda d: d.title == "done", "the attacking page never finished")
    results = js(browser, "return window.attackResults")
    posts = lambda: [e for e in recorder.seen if e[0] == "POST"]  # noqa: E731
    # The two forms load in their frames; wait until the server has answered all five.
    wait(browser, lambda d: len(posts()) >= 5 and all(e[3] for e in posts()),
         f"the attack's requests never all reached the server: {recorder.seen}")  # fmt: skip
    foreign = [e for e in posts() if e[2] == attacker.rstrip("/")]
    assert len(foreign) >= 5, recorder.seen
    assert {e[1] for e in foreign} == {"/api/sessions", "/api/uploads"}
    assert all(e[3] == 403 for e in foreign), foreign
    # The CORS request with a guessed token was stopped at its preflight (405, no CORS).
    assert "blocked" in results[3], results
    assert any(e[0] == "OPTIONS" and e[3] != 200 for e in recorder.seen), recorder.seen
    assert len(app.state.store) == 0
    assert [p for p in os.scandir(uploads_dir)] == []

    # The playground's own page, in the same browser, works.
    load(browser, url + "/")
    assert len(app.state.store) == 1
    own = [e for e in posts() if e[2] in ("", url)]
    assert own, recorder.seen
    assert all(e[3] == 201 for e in own if e[1] == "/api/sessions"), own


# --- initlab serve ------------------------------------------------------------------------------


def serve(*args: str) -> tuple[subprocess.Popen[str], int]:
    """``initlab serve --port 0 ARGS`` in its own process; the process and its port."""
    code = "import sys; sys.argv[0] = 'initlab'; from initlab.cli import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "initlab playground: http://" in line, line
    return proc, int(line.split()[2].rstrip("/").rsplit(":", 1)[1])


def get(port: int, host: str) -> int:
    import httpx

    for _ in range(100):
        try:
            return httpx.get(
                f"http://127.0.0.1:{port}/api/options", headers={"Host": host}
            ).status_code
        except httpx.ConnectError:
            time.sleep(0.1)
    raise AssertionError("the server never answered")


def test_serve_on_port_0_checks_the_host_against_the_port_it_got():
    proc, port = serve()
    try:
        assert get(port, f"127.0.0.1:{port}") == 200
        assert get(port, f"localhost:{port}") == 200
        assert get(port, f"evil.example:{port}") == 421
        assert get(port, f"127.0.0.1:{port + 1}") == 421
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=TIMEOUT)
    assert "Warning" not in err, err


def test_serve_beyond_loopback_warns_once():
    proc, port = serve("--host", "0.0.0.0")
    try:
        assert get(port, f"127.0.0.1:{port}") == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=TIMEOUT)
    warnings = [line for line in err.splitlines() if line.startswith("Warning")]
    assert len(warnings) == 1, err
    assert "--host 0.0.0.0" in warnings[0]
    assert "anyone who can reach" in warnings[0]


# --- fairness: the stores' per-client shares -----------------------------------------------------

SMALL = {"hidden": [3], "points": 40}


@pytest.fixture
def store_of() -> Iterator[Any]:
    """``store_of(limits)``: a session store and its upload store, closed afterwards."""
    made: list[UploadStore] = []

    def make(limits: Limits) -> SessionStore:
        made.append(UploadStore(limits))
        return SessionStore(limits, made[-1])

    yield make
    for uploads in made:
        uploads.close()


def test_a_flooding_client_is_refused_past_its_share_and_the_user_is_not(store_of):
    limits = Limits(max_sessions=4, max_sessions_per_client=2)
    store = store_of(limits)
    config = parse_config(SMALL, limits)
    user = store.create(config, "user")
    store.create(config, "flood")
    store.create(config, "flood")
    with pytest.raises(TooManySessions, match=r"flood.*max_sessions_per_client=2"):
        store.create(config, "flood")
    assert store.get(user.id) is user
    store.create(config, "user")


def test_a_full_server_makes_the_largest_holder_give_way(store_of):
    """Four clients, a server of five: the one holding two loses its least recent session to
    a newcomer; a client holding as much as every other is refused instead."""
    limits = Limits(max_sessions=5, max_sessions_per_client=3)
    store = store_of(limits)
    config = parse_config(SMALL, limits)
    big_old, big_new = store.create(config, "big"), store.create(config, "big")
    small = [store.create(config, c) for c in ("a", "b", "c")]
    big_new.touch()
    store.create(config, "newcomer")  # the server is full: "big" holds the most
    assert {s.id for s in small} | {big_new.id} <= set(store._sessions)
    assert big_old.id not in store._sessions
    with pytest.raises(TooManySessions, match=r"max_sessions=5"):
        store.create(config, "a")  # everyone holds one, as "a" does: no one gives way


def test_a_clients_uploads_push_out_only_its_own():
    limits = Limits(max_uploads=4, max_uploads_per_client=2)
    uploads = UploadStore(limits)
    csv = [f"x1,x2,label\n{k},0,0\n{k},1,1\n0,{k},0\n1,{k},1\n".encode() for k in range(8)]
    mine = uploads.add("mine.csv", csv[0], "user")
    flood = [uploads.add(f"f{k}.csv", csv[k], "flood") for k in range(1, 8)]
    assert mine.id in uploads
    assert [u.id in uploads for u in flood] == [False] * 5 + [True] * 2
    assert mine.path.exists()  # the user's file is still there
    uploads.close()


def test_holdings_count_shared_keys_once_per_client():
    holdings = Holdings()
    holdings.hold("a", "x")
    holdings.hold("b", "x")
    assert holdings.largest(prefer_not="a") == "b"
    assert holdings.release("a", "x") is False  # "b" still holds it
    assert holdings.release("b", "x") is True
    assert holdings.largest() is None
