"""The store's thread contract: ``flush`` may run in a writer thread of its own while the
scheduler's thread looks cache entries up (on SQLite through sqlite3 directly, with a
connection for each; on PostgreSQL through SQLAlchemy's pool)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bridge.native.store import CallGraphStore, WriteBatch

BATCHES = 40
CALLS = 25


def batch_of(store: CallGraphStore, number: int) -> WriteBatch:
    """``CALLS`` cache entries, each returning its own value."""
    batch = WriteBatch()
    for i in range(CALLS):
        key = f"{number:04d}{i:04d}"
        store.add_value(batch, f"value{key}", number * 1000 + i)
        batch.calls[(f"call{key}", "subtree")] = {
            "call_hash": f"call{key}", "subtree_hash": "subtree", "task_hash": "task",
            "result_hash": f"value{key}", "subtree_tasks": ["task"], "result_files": [],
            "subtree_files": [], "subtree_counts": None, "returned": None,
            "job_id": f"job{key}", "created": float(number)}
    return batch


def call_hashes(number: int) -> list[str]:
    return [f"call{number:04d}{i:04d}" for i in range(CALLS)]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, workdir: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{workdir / 'store.db'}"
    return request.getfixturevalue("postgres_uri")


def test_a_writer_thread_flushes_while_the_loop_thread_reads(store_uri: str) -> None:
    store = CallGraphStore(store_uri).open()
    batches = [batch_of(store, number) for number in range(BATCHES)]
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for batch in batches:
                store.flush(batch)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        # a lookup finds whole batches only: a flush is one transaction (a chunk of
        # the lookup's hashes holds whole batches)
        found = store.lookup_calls(h for n in range(BATCHES) for h in call_hashes(n))
        assert len(found) % CALLS == 0
    writer.join()
    assert errors == []
    found = store.lookup_calls(h for n in range(BATCHES) for h in call_hashes(n))
    assert len(found) == BATCHES * CALLS
    assert store.load_cached_result(found[call_hashes(7)[3]][0]) == 7003
    assert store.start_reads(True, []).cached_task_hashes >= {"task"}
    store.close()
