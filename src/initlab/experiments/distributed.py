"""Running sweep batches on an existing Dask distributed cluster.

Each batch is one task: :func:`~initlab.experiments.runner.train_batch_rows` on a list of
run configs, a plain function of picklable arguments. The client — the process that owns the
result store — collects the results as they finish and writes them, so the store is only
ever written from one place. A worker that dies takes its task with it; the scheduler runs
the task again on another worker, so nothing is lost (``retries`` more attempts are allowed
for tasks that raise). Needs ``pip install 'initlab[distributed]'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from initlab.experiments.config import RunConfig
from initlab.experiments.store import RunRow


class DaskExecutor:
    """Submit batches to the Dask scheduler at ``address`` (``tcp://HOST:PORT``), or use an
    existing ``distributed.Client``."""

    def __init__(self, address: str | Any, retries: int = 2):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - exercised without the extra
            raise ImportError(
                "Running on a Dask cluster needs dask.distributed: "
                "pip install 'initlab[distributed]'"
            ) from None
        if isinstance(address, str):
            if not address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
                raise ValueError(
                    f"A cluster address looks like tcp://HOST:PORT. Received: {address!r}"
                )
            try:
                self.client = Client(address, timeout="20s")
            except OSError as exc:
                raise ValueError(f"Cannot reach the Dask scheduler at {address}: {exc}") from None
            self._owns_client = True
        else:
            self.client, self._owns_client = address, False
        self.retries = retries

    def map_unordered(
        self, fn: Callable[[list[RunConfig]], list[RunRow]], items: list[list[RunConfig]]
    ) -> Iterator[list[RunRow]]:
        from distributed import as_completed

        if not items:
            return
        futures = self.client.map(fn, items, pure=False, retries=self.retries)
        try:
            for future in as_completed(futures):
                yield future.result()
                future.release()
        except BaseException:  # Ctrl-C, SIGTERM, an error: the cluster drops what is left
            self.client.cancel(futures)
            raise

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
