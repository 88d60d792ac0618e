"""The `bridge` command. Each command lives in its own module and imports its heavy
dependencies (SQLAlchemy, pydantic, rich) inside the command, so `bridge --help` and
`bridge --version` stay fast."""

from __future__ import annotations

import click

from bridge import __version__
from bridge.cli.admin import db, init
from bridge.cli.airflow import airflow
from bridge.cli.common import UserError
from bridge.cli.log import log
from bridge.cli.oneshot import oneshot
from bridge.cli.prefect import prefect
from bridge.cli.run import run
from bridge.cli.viz import viz

__all__ = ["UserError", "cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
def cli() -> None:
    """bridge runs Python workflows of lazy, cached tasks and records their call graph."""


for command in (run, log, viz, init, db, oneshot, prefect):
    cli.add_command(command)
cli.add_command(airflow)


def main() -> None:
    cli(prog_name="bridge")
