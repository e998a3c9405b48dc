"""Shared setup of the web tests: a test client of the playground speaks for its page.

The playground refuses a request that changes something unless it carries the token the
server wrote into its page (:mod:`initlab.web.security`), which ``api.js`` sends. The API
tests play that page, so every Starlette ``TestClient`` made on a playground app here sends
the app's token (``app.state.token``) by default, as the page does. The refusals themselves
are tested with clients that drop it (``tests/web/test_security.py``) and in
``tests/hostile/test_web.py``, where this file does not apply.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _test_clients_send_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        from starlette.testclient import TestClient

        from initlab.web.security import TOKEN_HEADER
    except ImportError:  # no web extra: the web tests skip themselves
        return
    made = TestClient.__init__

    def init(self: TestClient, app: object, *args: object, **kwargs: object) -> None:
        made(self, app, *args, **kwargs)  # type: ignore[arg-type]
        token = getattr(getattr(app, "state", None), "token", None)
        if isinstance(token, str):
            self.headers.setdefault(TOKEN_HEADER, token)

    monkeypatch.setattr(TestClient, "__init__", init)
