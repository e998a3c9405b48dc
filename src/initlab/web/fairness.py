"""Who holds what on the playground server, so that one client's flood costs only itself.

The server keeps at most ``max_sessions`` sessions and ``max_uploads`` uploaded files. Were
they shared first come, first served, one client creating sessions in a loop would lock every
other out, and one uploading in a loop would push every other's files out. So each session
and upload is *held* by the client that made it (its network address: the token already
keeps other web pages out, so what is left to share is the machines that can reach the
server), and the stores decide by :class:`Holdings`:

- a client holds at most its own share (``max_sessions_per_client``,
  ``max_uploads_per_client``); past it, its own oldest upload goes, or its new session is
  refused;
- when the server is full, the client that holds the most gives way — the flooder, never
  a client that holds less than the one asking.
"""

from __future__ import annotations

LOCAL = "local"
"""The client of a request whose address is unknown (and of direct, in-process use)."""


class Holdings:
    """Which client holds which keys, in the order they took them (oldest first).

    A key may be held by several clients (an upload is addressed by its content, so two
    clients uploading the same file share it). Not thread-safe: the stores call it under
    their own lock.

    >>> h = Holdings()
    >>> h.hold("a", "x"); h.hold("b", "x"); h.hold("a", "y")
    >>> h.count("a"), h.largest(), h.held_by("a")
    (2, 'a', ['x', 'y'])
    >>> h.release("a", "x"), h.release("b", "x")
    (False, True)
    """

    def __init__(self) -> None:
        self._held: dict[str, dict[str, None]] = {}  # client → its keys (an ordered set)

    def hold(self, client: str, key: str) -> None:
        """``client`` holds ``key``, as its newest (taken again, it moves to the end)."""
        keys = self._held.setdefault(client, {})
        keys.pop(key, None)
        keys[key] = None

    def release(self, client: str, key: str) -> bool:
        """``client`` no longer holds ``key``; whether no client holds it any more."""
        keys = self._held.get(client, {})
        keys.pop(key, None)
        if not keys:
            self._held.pop(client, None)
        return not any(key in held for held in self._held.values())

    def forget(self, key: str) -> None:
        """No client holds ``key`` any more (it was deleted or expired)."""
        for client in list(self._held):
            self.release(client, key)

    def count(self, client: str) -> int:
        return len(self._held.get(client, ()))

    def held_by(self, client: str) -> list[str]:
        """``client``'s keys, oldest first."""
        return list(self._held.get(client, ()))

    def largest(self, prefer_not: str | None = None) -> str | None:
        """The client that holds the most keys (``None`` if none holds any); between equals,
        any but ``prefer_not`` (the client asking: it should not evict itself on a tie when
        another can give way)."""
        if not self._held:
            return None
        return max(self._held, key=lambda c: (len(self._held[c]), c != prefer_not))
