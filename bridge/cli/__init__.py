"""The `bridge` command. Each command lives in its own module and imports its heavy
dependencies (SQLAlchemy, pydantic, rich) inside the command, so `bridge --help` and
`bridge --version` stay fast."""

from __future__ import annotations

import sys
from typing import Any

import click

from bridge import __version__
from bridge.cli.admin import db, init
from bridge.cli.airflow import airflow
from bridge.cli.common import UserError
from bridge.cli.console import console
from bridge.cli.log import log
from bridge.cli.oneshot import oneshot
from bridge.cli.prefect import prefect
from bridge.cli.run import SETUP_ARGS, run
from bridge.cli.viz import viz

__all__ = ["UserError", "cli", "main"]


class _Cli(click.Group):
    """The top-level group: a StoreError no command caught still ends as one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            # Only a loaded store module can have raised one (and `bridge --help` must
            # not load SQLAlchemy to find out).
            store = sys.modules.get("bridge.native.store")
            if store is not None and isinstance(error, store.StoreError):
                raise UserError(str(error)) from None
            raise


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
@click.option("-s", "--setup", "setup_args", multiple=True, metavar="KEY=VALUE",
              help="As `bridge run --setup` (redun's place for it: before the command).")
@click.pass_context
def cli(ctx: click.Context, setup_args: tuple[str, ...]) -> None:
    """bridge runs Python workflows of lazy, cached tasks and records their call graph."""
    ctx.meta[SETUP_ARGS] = setup_args


for command in (run, log, viz, init, db, oneshot, prefect, console):
    cli.add_command(command)
cli.add_command(airflow)


def main() -> None:
    cli(prog_name="bridge")
