"""Context values a workflow reads with ``get_context`` (see docs/concepts.md)."""

from bridge.native.context import get_context, get_context_value, merge_contexts

__all__ = ["get_context", "get_context_value", "merge_contexts"]
