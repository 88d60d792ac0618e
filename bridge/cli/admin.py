"""`bridge init` and `bridge db info|upgrade`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from bridge.cli.common import UserError, config_option, open_store, store_errors, store_for

TEMPLATE = """\
# bridge configuration. Every key is checked: a mistyped section or key is an error
# naming it. BRIDGE_CONFIG picks another folder; BRIDGE_DB_URI overrides db_uri.

[backend]
# The call-graph database: SQLite (a path relative to this folder) or PostgreSQL.
# db_uri = sqlite:///bridge.db
# db_uri = postgresql://user@host:5432/bridge
# Where values larger than inline_limit bytes are kept: a folder (relative to this
# folder) or s3://BUCKET/PREFIX (default: values/ here).
# value_store = values
# inline_limit = 65536

[scheduler]
# Seconds between writes of the record while jobs run.
# flush_interval = 0.5

[files]
# Local files up to this many bytes are known by a sha256 of their content (touching
# one changes nothing); larger ones by size and mtime. 0: all by size and mtime.
# content_hash_limit = 1048576

[limits]
# Named resources tasks take with @task(limits=...): at most this many at once.
# db_connections = 4

# Executors: tasks pick one with @task(executor="NAME") or `bridge run -o executor=NAME`.
# Without a section, [executors.default] is a local thread pool and [executors.process]
# a local pool of worker processes (redun's names).
[executors.default]
type = local
# mode = threads
# max_workers = 20

# [executors.docker]
# type = docker
# image = my-image:latest

# [executors.batch]
# type = aws_batch
# image = ACCOUNT.dkr.ecr.REGION.amazonaws.com/IMAGE:latest
# queue = QUEUE
# s3_scratch = s3://BUCKET/bridge/
"""


@click.command()
@click.argument("directory", required=False, metavar="[DIR]")
@click.option("--from-redun", is_flag=True,
              help="Write bridge.ini from the .redun/redun.ini beside DIR, saying what "
                   "does not convert.")
def init(directory: str | None, from_redun: bool) -> None:
    """Create a config folder (default .bridge, or BRIDGE_CONFIG) with a commented
    bridge.ini and an empty call-graph database."""
    from bridge.config import CONFIG_FILE

    folder = Path(directory or os.environ.get("BRIDGE_CONFIG") or ".bridge")
    ini = folder / CONFIG_FILE
    if from_redun:
        _convert_redun(folder, ini)
    folder.mkdir(parents=True, exist_ok=True)
    # The store first (a new bridge.ini configures the same one): a database bridge
    # refuses leaves the folder as it was.
    store = open_store(str(folder), create=True)
    if from_redun:
        pass  # written above
    elif ini.exists():
        click.echo(f"{ini} exists: left as it is")
    else:
        ini.write_text(TEMPLATE)
        click.echo(f"Wrote {ini}")
    click.echo(f"Call-graph store ready at {store.safe_uri}")
    store.close()


def _convert_redun(folder: Path, ini: Path) -> None:
    """Write ``ini`` from the redun.ini beside ``folder``; what did not convert is listed
    in the file's header and on the terminal."""
    from bridge.config import Config, ConfigError
    from bridge.config_defaults import redun_ini_beside
    from bridge.redun_config import RedunConfigError, convert

    source = redun_ini_beside(folder)
    if not source.exists():
        raise UserError(f"--from-redun: no {source} to convert")
    if ini.exists():
        raise UserError(f"--from-redun: {ini} exists: left as it is (move it away to "
                        "convert again)")
    try:
        conversion = convert(source, set(Config.model_fields) - {"config_dir"})
    except RedunConfigError as error:
        raise UserError(str(error)) from None
    folder.mkdir(parents=True, exist_ok=True)
    ini.write_text(conversion.ini_text(source))
    click.echo(f"Converted {source} to {ini}")
    for item in conversion.left_out:
        click.echo(f"  not converted: {item}")
    try:
        Config.load(folder)
    except ConfigError as error:
        raise UserError(f"{ini} needs a hand: {error}") from None


def _existing_store(config_dir: str | None) -> Any:
    """The configured store, which must already exist (nothing is created by looking)."""
    store = store_for(config_dir)
    if not store.exists():
        raise UserError(f"no bridge store at {store.safe_uri}: `bridge init` makes one, and so "
                        "does the first `bridge run`")
    return store


@click.group()
def db() -> None:
    """Inspect or upgrade the call-graph database."""


@db.command()
@config_option
def info(config_dir: str | None) -> None:
    """The database's location, schema version and size."""
    from bridge.migrations import current_version, table_counts
    from bridge.native.schema import SCHEMA_VERSION

    store = _existing_store(config_dir)
    with store_errors(store, "read"):
        version = current_version(store)
        counts = table_counts(store)
    click.echo(f"Database:       {store.safe_uri}")
    click.echo(f"Schema version: {version} (this bridge: {SCHEMA_VERSION})"
               + ("  run `bridge db upgrade`" if version < SCHEMA_VERSION else ""))
    click.echo(f"Value store:    {store.value_store.root}")
    for table, count in counts.items():
        click.echo(f"  {table:<14} {count}")


@db.command()
@config_option
def upgrade(config_dir: str | None) -> None:
    """Bring the database's schema up to this bridge's version."""
    from bridge.migrations import upgrade as run_upgrade

    store = _existing_store(config_dir)
    with store_errors(store, "upgrade"):
        applied = run_upgrade(store)
    if applied:
        click.echo(f"Upgraded {store.safe_uri} to schema version {applied[-1]}")
    else:
        click.echo(f"{store.safe_uri} is up to date")
