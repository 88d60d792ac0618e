"""The `bridge` command. Each command lives in its own module, loaded when that command is
named (or listed by `bridge --help`), and imports its heavy dependencies (SQLAlchemy,
pydantic, rich) inside the command, so `bridge --help`, `bridge --version` and a cached
`bridge run` stay fast."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from bridge import __version__
from bridge.cli.common import UserError
from bridge.cli.run import SETUP_ARGS, run

__all__ = ["UserError", "cli", "main"]


# The commands other than `run`, by name: the module that defines each (as that name).
_LAZY_COMMANDS = {
    "airflow": "bridge.cli.airflow",
    "console": "bridge.cli.console",
    "db": "bridge.cli.admin",
    "init": "bridge.cli.admin",
    "log": "bridge.cli.log",
    "oneshot": "bridge.cli.oneshot",
    "prefect": "bridge.cli.prefect",
    "report": "bridge.cli.report",
    "viz": "bridge.cli.viz",
}


class _Cli(click.Group):
    """The top-level group: commands load when named, and a StoreError no command caught
    still ends as one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _LAZY_COMMANDS.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            self.add_command(getattr(importlib.import_module(module), cmd_name))
        return super().get_command(ctx, cmd_name)

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


cli.add_command(run)


def main() -> None:
    cli(prog_name="bridge")
