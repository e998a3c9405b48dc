"""Hostile requests to the playground's HTTP API (issue 13): another page, another name,
no token, and extreme but well-typed values.

Every case goes through the whole HTTP stack of the application (Starlette's TestClient: the
middleware, the routes, the error handlers) addressed as the real server is, at
``http://127.0.0.1:8000``, and asserts the status, a JSON ``{"error": …}`` naming the bad
header or value, that nothing was created, and no traceback. The refusals are
:mod:`initlab.web.security`'s; the values are checked by :mod:`initlab.web.config`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the playground needs the web extra: initlab[web]")

from fastapi.testclient import TestClient

from initlab.web.app import create_app
from initlab.web.config import Limits
from initlab.web.security import TOKEN_HEADER

TOKEN = "test-token-" + "x" * 32
BASE = "http://127.0.0.1:8000"
OWN = {TOKEN_HEADER: TOKEN}
"""What the playground's own page sends with a request that changes something."""
CSV = b"x1,x2,label\n" + b"".join(f"{k % 7},{k % 5},{k % 2}\n".encode() for k in range(40))


def client_of(limits: Limits | None = None, **kwargs: object) -> TestClient:
    app = create_app(limits, token=TOKEN)
    return TestClient(app, base_url=BASE, raise_server_exceptions=False, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def client() -> Iterator[TestClient]:
    with client_of() as c:
        yield c


def refused(response: object, status: int, *fragments: str) -> str:
    """The response is a refusal as issue 13 wants it: ``status``, a JSON error holding every
    fragment, no traceback, and the security headers."""
    r = response
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    for fragment in fragments:
        assert fragment in body["error"], f"{fragment!r} not in {body['error']!r}"
    assert "Traceback" not in r.text  # type: ignore[attr-defined]
    assert r.headers["x-content-type-options"] == "nosniff"  # type: ignore[attr-defined]
    return str(body["error"])


def sessions(client: TestClient) -> int:
    return len(client.app.state.store)  # type: ignore[attr-defined]


def upload_files(client: TestClient) -> list[Path]:
    folder = Path(client.app.state.uploads._dir.name)  # type: ignore[attr-defined]
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --- another name: DNS rebinding ---------------------------------------------------------------


def test_a_foreign_host_cannot_even_read_the_page(client):
    r = client.get("/", headers={"Host": "evil.example:8000"})
    refused(r, 421, "'evil.example:8000'", "127.0.0.1:8000", "DNS rebinding")
    assert TOKEN not in r.text


def test_a_foreign_host_creates_nothing_even_with_the_token(client):
    r = client.post("/api/sessions", json={}, headers={**OWN, "Host": "rebound.example:8000"})
    refused(r, 421, "'rebound.example:8000'")
    assert sessions(client) == 0


def test_the_right_name_on_another_port_is_refused(client):
    refused(client.get("/api/options", headers={"Host": "localhost:9999"}), 421,
            "'localhost:9999'", "localhost:8000")  # fmt: skip


def test_every_loopback_name_of_the_real_port_is_answered(client):
    for host in ("127.0.0.1:8000", "localhost:8000", "LOCALHOST:8000", "[::1]:8000"):
        assert client.get("/api/options", headers={"Host": host}).status_code == 200, host


# --- another page: the origin and the token -------------------------------------------------------


def test_a_foreign_origin_is_refused_though_it_has_the_token(client):
    r = client.post("/api/sessions", json={}, headers={**OWN, "Origin": "https://evil.example"})
    refused(r, 403, "Origin 'https://evil.example'", "http://127.0.0.1:8000")
    assert sessions(client) == 0


def test_another_local_port_is_another_origin(client):
    r = client.post("/api/sessions", json={}, headers={**OWN, "Origin": "http://127.0.0.1:9999"})
    refused(r, 403, "'http://127.0.0.1:9999'")
    assert sessions(client) == 0


def test_an_opaque_null_origin_is_refused(client):
    refused(client.post("/api/sessions", json={}, headers={**OWN, "Origin": "null"}), 403,
            "Origin 'null'")  # fmt: skip
    assert sessions(client) == 0


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_request_another_site_started_is_refused(client, site):
    r = client.post("/api/sessions", json={}, headers={**OWN, "Sec-Fetch-Site": site})
    refused(r, 403, f"Sec-Fetch-Site {site!r}")
    assert sessions(client) == 0


def test_a_request_without_the_token_is_refused(client):
    r = client.post("/api/sessions", json={})
    refused(r, 403, f"The {TOKEN_HEADER} header is missing", "initlab-token")
    assert sessions(client) == 0


def test_a_wrong_token_is_refused_and_named(client):
    r = client.post("/api/sessions", json={}, headers={TOKEN_HEADER: "guessed-1234"})
    refused(r, 403, "'guessed-1234'", "not this server's token")
    assert sessions(client) == 0


def test_a_bodyless_cross_origin_post_creates_nothing(client):
    """What a form or ``fetch(url, {method: "POST", mode: "no-cors"})`` of another page
    sends: a "simple" request, which the browser sends without asking (no preflight)."""
    headers = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site",
               "Content-Type": "text/plain"}  # fmt: skip
    for _ in range(5):
        refused(client.post("/api/sessions", headers=headers), 403, "evil.example")
    assert sessions(client) == 0
    # The real page still gets its session.
    assert client.post("/api/sessions", json={}, headers=OWN).status_code == 201


def test_a_cross_origin_upload_stores_nothing(client):
    headers = {"Origin": "http://evil.example", "Content-Type": "text/csv"}
    refused(client.post("/api/uploads?name=x.csv", content=CSV, headers=headers), 403,
            "Origin 'http://evil.example'")  # fmt: skip
    assert upload_files(client) == []
    assert client.post("/api/uploads", content=CSV, headers=OWN).status_code == 201


def test_a_session_cannot_be_deleted_or_stepped_without_the_token(client):
    sid = client.post("/api/sessions", json={}, headers=OWN).json()["session"]
    refused(client.delete(f"/api/sessions/{sid}"), 403, TOKEN_HEADER)
    refused(client.post(f"/api/sessions/{sid}/step", json={"iterations": 5}), 403, TOKEN_HEADER)
    frame = client.get(f"/api/sessions/{sid}/frame").json()
    assert frame["iteration"] == 0  # not stepped, not deleted


def test_the_page_holds_the_token_and_every_response_is_secured(client):
    page = client.get("/")
    assert f'<meta name="initlab-token" content="{TOKEN}">' in page.text
    assert page.headers["cache-control"] == "no-store"
    responses = [page, client.get("/static/api.js"), client.get("/api/options"),
                 client.get("/api/sessions/nope/frame"), client.post("/api/sessions"),
                 client.get("/", headers={"Host": "evil.example"})]  # fmt: skip
    for r in responses:
        policy = r.headers["content-security-policy"]
        for rule in ("script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'",
                     "object-src 'none'", "connect-src 'self'", "default-src 'none'"):  # fmt: skip
            assert rule in policy, (r.url, policy)
        assert "unsafe-inline" not in policy
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"


# --- extreme values: 4xx naming them, or trained and reported as diverged -------------------------


def train(client: TestClient, config: dict) -> dict | str:
    """A session of ``config`` stepped 100 iterations: its last frame, or the refusal's
    message (4xx). Never a 5xx."""
    r = client.post("/api/sessions", json=config, headers=OWN)
    assert r.status_code < 500, r.text
    if r.status_code != 201:
        assert 400 <= r.status_code < 500, r.text
        assert set(r.json()) == {"error"}, r.text
        return str(r.json()["error"])
    sid = r.json()["session"]
    step = client.post(f"/api/sessions/{sid}/step", json={"iterations": 100}, headers=OWN)
    assert step.status_code == 200, step.text
    for export in ("results", "spec"):
        assert client.get(f"/api/sessions/{sid}/export/{export}").status_code == 200
    return dict(step.json())


@pytest.mark.parametrize(
    ("init", "value"),
    [
        ("random", "scale"),
        ("xavier_uniform", "gain"),
        ("constant", "value"),
        ("he", "scale"),
        ("trunc_normal", "std"),
        ("trunc_normal", "mean"),
    ],
)
@pytest.mark.parametrize("number", [1e308, -1e308, 10**30, 1e-308, 5e-324])
def test_extreme_initializer_arguments_are_refused_or_diverge(client, init, value, number):
    out = train(client, {"inits": [{"name": init, value: number}], "activation": "sigmoid"})
    if isinstance(out, str):
        assert value in out, out
        assert repr(number) in out, out
        return
    run = out["runs"][0]
    # Trained: a finite cost (JSON null stands for NaN or inf), or said to have diverged.
    cost = run["train_cost"]
    assert run["status"] == "diverged" or (cost is not None and math.isfinite(cost)), run


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("learning_rate", "nan"),
        ("learning_rate", "inf"),
        ("learning_rate", 1e308),
        ("learning_rate", -0.0),
        ("l2", "-inf"),
        ("l2", 1e308),
        ("noise", 1e308),
        ("points", 10**30),
        ("seed", 2**64),
        ("seed", -1),
        ("batch_size", 10**20),
        ("test_fraction", 1e-308),
        ("data_seed", 10**30),
    ],
)
def test_extreme_training_values_are_refused_naming_them(client, field, value):
    r = client.post("/api/sessions", json={field: value}, headers=OWN)
    refused(r, 400, field, repr(value))
    assert sessions(client) == 0


@pytest.mark.parametrize("number", ["1e308", "-1e308", "1.7976931348623157e308"])
def test_an_upload_of_extreme_values_is_refused_or_diverges(client, number):
    rows = [f"{number},{k % 5},{k % 2}" for k in range(40)]
    body = ("x1,x2,label\n" + "\n".join(rows) + "\n").encode()
    r = client.post("/api/uploads?name=huge.csv", content=body, headers=OWN)
    if r.status_code != 201:
        refused(r, 400, "huge.csv", "x1")
        return
    out = train(client, {"dataset": r.json()["dataset"], "data_seed": 0})
    assert isinstance(out, dict) or "x1" in out


# --- limits before allocation ---------------------------------------------------------------------


def test_a_session_over_the_memory_limit_is_refused_before_it_is_built():
    with client_of(Limits(max_width=10**7)) as client:
        r = client.post("/api/sessions", json={"hidden": [10**7] * 3}, headers=OWN)
        message = refused(r, 400, "hidden:", "[2, 10000000, 10000000, 10000000, 1]", "PiB",
                          "the limit is", "INITLAB_MAX_MEMORY")  # fmt: skip
        assert "the parameters" in message
        assert sessions(client) == 0


def test_the_memory_limit_follows_initlab_max_memory(monkeypatch):
    monkeypatch.setenv("INITLAB_MAX_MEMORY", "8M")
    with client_of() as client:
        config = {"hidden": [64] * 8, "inits": ["he"] * 4, "points": 2000}
        refused(client.post("/api/sessions", json=config, headers=OWN), 400,
                "needs ~", "the limit is 8.0 MiB")  # fmt: skip
        assert client.post("/api/sessions", json={}, headers=OWN).status_code == 201


# --- fairness: one client's flood costs only itself ------------------------------------------------


def test_another_clients_flood_neither_locks_out_nor_evicts_the_user():
    limits = Limits(max_sessions=6, max_sessions_per_client=3, max_uploads=4,
                    max_uploads_per_client=2)  # fmt: skip
    with client_of(limits, client=("127.0.0.1", 50000)) as user:
        mine = user.post("/api/sessions", json={}, headers=OWN).json()["session"]
        upload = user.post("/api/uploads", content=CSV, headers=OWN).json()["dataset"]
        flood = TestClient(user.app, base_url=BASE, client=("192.168.1.66", 40000))
        codes = [flood.post("/api/sessions", json={}, headers=OWN).status_code
                 for _ in range(5)]  # fmt: skip
        assert codes == [201, 201, 201, 429, 429]
        message = refused(flood.post("/api/sessions", json={}, headers=OWN), 429,
                          "192.168.1.66", "max_sessions_per_client=3")  # fmt: skip
        assert "already holds 3" in message
        for k in range(6):
            csv = CSV + f"{k},{k},1\n".encode()
            assert flood.post("/api/uploads", content=csv, headers=OWN).status_code == 201
        # The user's session and upload are still there; the user can still start sessions.
        assert user.get(f"/api/sessions/{mine}/frame").status_code == 200
        r = user.post("/api/sessions", json={"dataset": upload, "data_seed": 0}, headers=OWN)
        assert r.status_code == 201, r.text
