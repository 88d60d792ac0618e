"""Loading a workflow: a file path or a module name, and finding a task in it."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

from bridge.native.task import Task, registry


class WorkflowError(Exception):
    """The workflow file, module or task cannot be found or loaded."""


def load_workflow(target: str, as_module: bool = False) -> ModuleType:
    """Import a workflow from a file (``workflow.py``) or a module (``-m pkg.module``)."""
    if as_module:
        sys.path.insert(0, str(Path.cwd()))
        try:
            return importlib.import_module(target)
        except ModuleNotFoundError as error:
            raise WorkflowError(f"cannot import module {target!r}: {error}") from None
        except Exception as error:
            raise WorkflowError(f"cannot load module {target!r}: "
                                f"{type(error).__name__}: {error}") from None
    path = Path(target)
    if not path.exists():
        raise WorkflowError(f"no workflow file {target!r}: check the path")
    if path.is_dir() or path.suffix != ".py":
        raise WorkflowError(f"{target!r} is not a Python file (workflow.py)")
    path = path.resolve()
    sys.path.insert(0, str(path.parent))
    module_name = path.stem
    existing = sys.modules.get(module_name)
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return existing
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise WorkflowError(f"cannot load {target}: {_where(error, path)}"
                            f"{type(error).__name__}: {error}") from None
    return module


def _where(error: BaseException, path: Path) -> str:
    """``line N: `` of the workflow file where loading failed, when it is known."""
    if isinstance(error, SyntaxError):
        return ""  # its message names the line already
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == str(path):
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return f"line {line}: " if line else ""


def workflow_tasks(module: ModuleType) -> list[Task]:
    """The tasks a workflow module defines (not those it imports, nor those of another
    module loaded earlier under the same name, as two `wf.py` files in one process are)."""
    defined_here = vars(module)
    return [t for t in registry
            if getattr(inspect.unwrap(t.func), "__globals__", None) is defined_here]


def find_task(module: ModuleType, name: str) -> Task:
    """TASK as `bridge run FILE TASK` names it: the file's own task of that full or short
    name first (so a task of another module loaded earlier in the process, of the same full
    name, is not picked instead), then any task of that full name, such as one it imports."""
    own = workflow_tasks(module)
    candidates: list[Task] = []
    # as in argument names, dashes stand for underscores (`main-if` for `main_if`)
    for spelled in dict.fromkeys((name, name.replace("-", "_"))):
        candidates += [t for t in own if t.fullname == spelled] + [
            t for t in own if t.name == spelled and t.fullname != spelled]
        candidates += [t for t in registry if t.fullname == spelled and t not in candidates]
    if not candidates:
        known = ", ".join(sorted(t.fullname for t in workflow_tasks(module))) or "none"
        raise WorkflowError(f"no task {name!r} in {module.__file__}; its tasks: {known}")
    return candidates[0]
