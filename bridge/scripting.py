"""``script()`` and its error under the module path redun users import them from
(``from bridge.scripting import script, ScriptError``)."""

from bridge.native.script import ScriptError, script

__all__ = ["ScriptError", "script"]
