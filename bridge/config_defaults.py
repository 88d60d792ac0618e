"""The config without its validation: where bridge.ini lives, and the settings of a folder
that has none. A project without a bridge.ini runs on the engine's defaults, so it never
loads pydantic (`bridge.config` does, to validate a bridge.ini): about a sixth of the
start-up of a cached `bridge run`, and of `bridge log`, in such a project."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bridge.native.settings import DEFAULT_DIR, SchedulerSettings

CONFIG_FILE = "bridge.ini"
REDUN_DIR = ".redun"
REDUN_INI = "redun.ini"


class ConfigError(Exception):
    """bridge.ini (or an override) is invalid; the message names the key and the file."""


def config_folder(config_dir: str | os.PathLike | None = None) -> Path:
    """The config folder: ``config_dir``, else ``BRIDGE_CONFIG``, else ``.bridge``."""
    return Path(config_dir or os.environ.get("BRIDGE_CONFIG") or DEFAULT_DIR)


def redun_ini_beside(config_dir: str | os.PathLike) -> Path:
    """Where a redun project beside bridge's config folder keeps its config (a run only
    looks for it, so `bridge.redun_config`, which converts it, does not load)."""
    return Path(config_dir).parent / REDUN_DIR / REDUN_INI


def default_settings(config_dir: str | os.PathLike | None = None) -> SchedulerSettings | None:
    """The settings of a config folder without a bridge.ini (``BRIDGE_DB_URI`` applied
    and checked); None when the folder has a bridge.ini, which `bridge.config` validates."""
    directory = config_folder(config_dir)
    if (directory / CONFIG_FILE).exists():
        return None
    db_uri = os.environ.get("BRIDGE_DB_URI")
    if db_uri:
        check_db_uri(db_uri, "BRIDGE_DB_URI")
    return SchedulerSettings(
        db_uri=resolve_sqlite(db_uri, str(directory)) if db_uri else None,
        config_dir=str(directory),
    )


def check_db_uri(db_uri: str, origin: str) -> None:
    """A store URI bridge cannot open is an error naming where it came from (``origin``)."""
    from bridge.native.store import StoreError
    from bridge.native.store import check_db_uri as check

    try:
        check(db_uri)
    except StoreError as error:
        raise ConfigError(f"{origin}: {error}") from None


def context_values(items: Any) -> dict[str, Any]:
    """``key = value`` pairs as a context: a dotted key nests (``db.host``), and a value
    is JSON when it parses as JSON (``10``, ``true``, ``[1, 2]``), else the text itself."""
    from bridge.native.context import merge_contexts

    context: dict[str, Any] = {}
    for key, text in items:
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        for part in reversed(key.split(".")):
            value = {part: value}
        context = merge_contexts(context, value)
    return context


def in_config_dir(path: str, config_dir: str) -> str:
    """``path`` made absolute; a relative one is taken from the config folder, not from the
    working directory, so one config means one store wherever bridge runs."""
    return str((Path(config_dir) / path).resolve())


def resolve_sqlite(db_uri: str, config_dir: str) -> str:
    prefix = "sqlite:///"
    if not db_uri.startswith(prefix) or db_uri == prefix + ":memory:":
        return db_uri
    return prefix + in_config_dir(db_uri[len(prefix) :], config_dir)


def resolve_value_store(value_store: str | None, config_dir: str) -> str | None:
    if value_store is None or "://" in value_store:  # the default, or S3
        return value_store
    return in_config_dir(value_store, config_dir)
