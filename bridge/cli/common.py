"""What the commands share: the user-error exception, config and store opening."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bridge.config import Config
    from bridge.native.settings import SchedulerSettings


class UserError(click.ClickException):
    """A mistake in what the user asked for: one clear line, exit code 2, no traceback."""

    exit_code = 2


def load_config(config_dir: str | None) -> Any:
    """The folder's bridge.ini, validated (a :class:`bridge.config.Config`)."""
    from bridge.config import Config, ConfigError

    try:
        config = Config.load(config_dir)
    except ConfigError as error:
        raise UserError(str(error)) from None
    _mention_redun_config(config.config_dir)
    return config


def load_settings(config_dir: str | None) -> tuple[SchedulerSettings, Config | None]:
    """The folder's settings and its validated Config; without a bridge.ini, the defaults
    and None, read without loading pydantic (see `bridge.config_defaults`)."""
    from bridge.config_defaults import ConfigError, default_settings

    try:
        settings = default_settings(config_dir)
    except ConfigError as error:
        raise UserError(str(error)) from None
    if settings is None:
        config = load_config(config_dir)
        return config.to_settings(), config
    _mention_redun_config(settings.config_dir)
    return settings, None


def _mention_redun_config(config_dir: str) -> None:
    """A project that has a redun.ini and no bridge.ini hears, in one line, how to
    convert it (bridge runs on its defaults meanwhile)."""
    from pathlib import Path

    from bridge.config_defaults import CONFIG_FILE, redun_ini_beside

    redun_ini = redun_ini_beside(config_dir)
    if redun_ini.exists() and not (Path(config_dir) / CONFIG_FILE).exists():
        click.echo(f"[bridge] {redun_ini} is redun's config and bridge does not read it: "
                   f"`bridge init --from-redun` converts it to {Path(config_dir) / CONFIG_FILE}",
                   err=True)


def write_output(path: str, data: bytes | str, what: str) -> None:
    """Write what a command made (``what``: "report", ...) to ``path``: a folder that is
    missing or cannot be written is one line naming the path, not a traceback."""
    try:
        if isinstance(data, bytes):
            with open(path, "wb") as handle:
                handle.write(data)
        else:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(data)
    except OSError as error:
        raise UserError(f"{path}: cannot write the {what} ({error.strerror}): check that "
                        "its folder exists and can be written") from None


config_option = click.option("--config", "config_dir", metavar="DIR",
                             help="Config folder (default .bridge, or BRIDGE_CONFIG).")


def store_for(config_dir: str | None) -> Any:
    """The configured call-graph store, not yet opened (its schema not checked)."""
    from bridge.native.store import CallGraphStore

    settings, _ = load_settings(config_dir)
    return CallGraphStore(settings.resolved_db_uri(), settings.resolved_value_store(),
                          settings.inline_limit)


def open_store(config_dir: str | None, create: bool = False) -> Any:
    """The configured call-graph store; without ``create``, a missing store is an error."""
    from bridge.native.store import StoreError

    try:
        return store_for(config_dir).open(create=create)
    except StoreError as error:
        raise UserError(str(error)) from None


def open_record(config_dir: str | None) -> Any:
    """The configured store's record, to inspect: a :class:`Record` holds the database
    and nothing else, so no inspection command can unpickle (run) what a store holds."""
    from bridge.native.record import Record

    store = open_store(config_dir)
    store.close()  # the connections that checked its schema version (its engine stays usable)
    return Record(store.engine)


@contextmanager
def store_errors(store: Any, action: str) -> Iterator[None]:
    """Use ``store`` and close it; its errors become one line naming it (``action`` says
    what was being done: a driver error carries no advice of its own)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bridge.native.store import StoreError, one_line

    try:
        yield
    except StoreError as error:
        raise UserError(str(error)) from None
    except SQLAlchemyError as error:
        raise UserError(f"cannot {action} the database at {store.safe_uri}: "
                        f"{one_line(error)}") from None
    finally:
        store.close()


def parse_pairs(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    """``("memory=4", "executor=batch")`` -> ``{"memory": 4, "executor": "batch"}``;
    values that read as JSON (numbers, true/false, lists) become those."""
    import json

    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} {pair!r}: expected key=value")
        try:
            parsed[key.strip()] = json.loads(text)
        except ValueError:
            parsed[key.strip()] = text
    return parsed
