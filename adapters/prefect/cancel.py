"""Cancelling a flow run in Prefect's UI or API cancels the bridge execution inside it.

A flow run that a worker started is also ended by the worker; one started in-process
(``bridge prefect run``, a served flow) has nothing else watching, so this polls the
flow run's state and, once it is Cancelling, asks the scheduler to cancel."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from prefect.client.orchestration import get_client

POLL_SECONDS = 1.0


class CancelWatcher:
    def __init__(self, flow_run_id: uuid.UUID, cancel: Callable[[str], None],
                 interval: float = POLL_SECONDS) -> None:
        self._flow_run_id = flow_run_id
        self._cancel = cancel
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bridge-prefect-cancel",
                                        daemon=True)

    def __enter__(self) -> CancelWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._done.set()
        self._thread.join(timeout=2 * self._interval + 5)

    def _watch(self) -> None:
        if self._done.wait(self._interval):  # a short run ends before the first look
            return
        with get_client(sync_client=True) as client:
            while not self._done.wait(self._interval):
                try:
                    state = client.read_flow_run(self._flow_run_id).state
                except Exception:  # the API is briefly unreachable: look again
                    continue
                if state is not None and (state.is_cancelling() or state.is_cancelled()):
                    self._cancel("the Prefect flow run was cancelled")
                    return
