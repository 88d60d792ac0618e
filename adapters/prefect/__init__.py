"""Run and deploy bridge workflows as Prefect flows (the ``prefect`` extra).

``flow_for(task)`` is a ``prefect.Flow`` that evaluates the task with bridge: same store,
same cache entries as ``bridge run``, every executed job a Prefect task run. See
docs/prefect.md."""

from bridge.adapters.prefect.flow import flow_for

__all__ = ["flow_for"]
