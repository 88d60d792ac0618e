"""The local executor (threads, or processes): ``LocalExecutor("batch")`` stands in for
another executor in tests (``scheduler.add_executor(...)``)."""

from bridge.native.executors.local import LocalExecutor

__all__ = ["LocalExecutor"]
