"""Handles: stateful resources (a database connection, a service client) passed through
tasks, as redun users write them.

A handle is rebuilt from its constructor arguments wherever it is unpickled (each
process opens its own connection), and its hash is its *state*: the constructor's
arguments when created, then the calls it went through. Entering a call forks it (a
key of its own, or the order of that call among its parent's calls that take the same
handle) and leaving one applies that call's hash, so a call that takes a handle replays
only when the same chain of calls led to the handle's state, and the call graph records
each step as the argument one call passes to the next.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bridge.native.custom_values import Value
from bridge.native.hashing import hash_parts, hash_value
from bridge.native.nested import map_nested
from bridge.native.task import _default_namespace, namespace, task


class HandleInfo:
    """What identifies a handle's state: its full name, how it was built, and the call
    (or fork) that last changed it."""

    def __init__(self, name: str, args: tuple, kwargs: dict, class_name: str,
                 namespace: str | None = None, call_hash: str = "", hash: str | None = None,
                 key: str = "") -> None:
        self.name = name
        self.namespace = namespace
        self.fullname = f"{namespace}.{name}" if namespace else name
        self.args = args
        self.kwargs = kwargs
        self.class_name = class_name
        self.call_hash = call_hash
        self.key = key
        self.hash = hash or self.get_hash()

    def get_state(self) -> dict:
        return {"name": self.name, "namespace": self.namespace, "args": self.args,
                "kwargs": self.kwargs, "class_name": self.class_name,
                "call_hash": self.call_hash, "key": self.key, "hash": self.hash}

    def get_hash(self) -> str:
        tag = "handle:" + self.fullname
        if self.call_hash:
            return hash_parts(tag, ["call", self.key, self.call_hash])
        return hash_parts(tag, ["init", self.key, hash_value(self.args),
                                hash_value(self.kwargs)])

    def derive(self, handle: Handle, call_hash: str, key: str) -> Handle:
        """A copy of ``handle`` (sharing its attributes, e.g. the open connection) whose
        state is ``call_hash`` under ``key``."""
        cls = type(handle)
        derived = cls.__new__(cls, self.name, *self.args, namespace=self.namespace,
                              **self.kwargs)
        derived.__dict__.update(
            (name, item) for name, item in handle.__dict__.items() if name != "__handle__")
        info = derived.__handle__
        info.call_hash, info.key = call_hash, key
        info.hash = info.get_hash()
        return derived


class Handle(Value):
    """Base class of handles: subclass it with ``__init__(self, name, ...)`` that builds
    the resource from the remaining arguments. Attributes not found on the handle are
    looked up on ``self.instance`` when it is set."""

    type_name = "bridge.Handle"
    HandleInfo = HandleInfo
    __handle__: HandleInfo
    # Until a subclass exists, calls skip looking for handles in their arguments.
    subclassed: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Handle.subclassed = True

    def __new__(cls, name: str | None = None, *args: Any, namespace: str | None = None,
                **kwargs: Any) -> Handle:
        handle = super().__new__(cls)
        if name is not None:  # None when unpickling: __setstate__ sets it
            handle.__handle__ = HandleInfo(
                name, args, kwargs, str(cls.type_name),
                namespace=namespace if namespace is not None else _default_namespace(cls))
        return handle

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def __repr__(self) -> str:
        info = self.__handle__
        return f"{info.class_name}(fullname={info.fullname}, hash={info.hash[:8]})"

    def __getattr__(self, attr: str) -> Any:
        if "instance" in self.__dict__:
            return getattr(self.__dict__["instance"], attr)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def __getstate__(self) -> dict:
        return self.__handle__.get_state()

    def __setstate__(self, state: dict) -> None:
        self.__handle__ = HandleInfo(**state)
        self.__init__(state["name"], *state["args"], **state["kwargs"])  # type: ignore[misc]

    def get_hash(self, data: bytes | None = None) -> str:
        return self.__handle__.hash

    def apply_call(self, call_hash: str) -> Handle:
        """This handle after a call with ``call_hash`` returned it. The new state folds
        in the state it had, so a parent returning a child's handle still tells apart
        what the child did (e.g. loaded another version of a file)."""
        return self.__handle__.derive(self, hash_parts("after", [self.__handle__.hash,
                                                                   call_hash]), "")

    def fork(self, key: str) -> Handle:
        """A branch of this handle's state, told apart from other branches by ``key``:
        calls on differently keyed forks cache independently of their order."""
        return self.__handle__.derive(self, self.__handle__.hash, key)


class HandleCalls:
    """The forks and updates of handles as they go in and out of one execution's calls."""

    def __init__(self) -> None:
        self.entered: dict[tuple[str | None, str], int] = {}

    def enter(self, args: tuple, kwargs: dict, parent_id: str | None) -> tuple[tuple, dict]:
        """The arguments of a call with each handle in them forked for that call."""
        if not Handle.subclassed:
            return args, kwargs

        def fork(item: Any) -> Any:
            if not isinstance(item, Handle):
                return item
            order = 0
            if parent_id is not None:
                slot = (parent_id, item.__handle__.hash)
                order = self.entered[slot] = self.entered.get(slot, 0) + 1
            return item.fork(item.__handle__.key or str(order))

        return map_nested(fork, args), map_nested(fork, kwargs)

    def leave(self, value: Any, call_hash: str) -> Any:
        """A call's result with each handle in it advanced by that call."""
        if not Handle.subclassed:
            return value
        return map_nested(
            lambda item: item.apply_call(call_hash) if isinstance(item, Handle) else item, value)


with namespace("bridge"):

    @task(version="1")
    def merge_handles(handles: list) -> Handle:
        """One handle whose state follows from all of ``handles`` (branches of the same
        resource, e.g. written in parallel): what takes it waits for all of them."""
        return handles[0]
