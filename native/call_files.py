"""The file index of the cache (the ``call_files`` table): which calls returned a File or
Dir at a uri. Its rows are derived from the calls' rows and written with them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def uri_hash(uri: str) -> str:
    return hashlib.sha256(uri.encode("utf-8", "surrogatepass")).hexdigest()


def file_rows(call_rows: Iterable[dict]) -> list[dict]:
    """A ``call_files`` row per [uri, hash] in each call's result_files, in key order
    (concurrent writers then take their locks in one order)."""
    rows = {
        (uri_hash(uri), call["call_hash"], call["subtree_hash"]): uri
        for call in call_rows for uri, *_ in call["result_files"]
    }
    return [{"uri_hash": key[0], "call_hash": key[1], "subtree_hash": key[2], "uri": uri}
            for key, uri in sorted(rows.items())]

