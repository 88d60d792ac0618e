"""Higher-order helpers for tasks, as redun users import them from ``redun.functools``."""

from bridge.native.control import const, eval_, flatten, map_, no_prov, seq
from bridge.native.functional import (
    apply_func,
    as_task,
    compose,
    compose_apply,
    delay,
    flat_map,
    force,
    identity,
    starmap,
    zip_,
)

__all__ = [
    "apply_func", "as_task", "compose", "compose_apply", "const", "delay", "eval_", "flat_map",
    "flatten", "force", "identity", "map_", "no_prov", "seq", "starmap", "zip_",
]
