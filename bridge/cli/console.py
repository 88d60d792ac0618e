"""`bridge console`: redun's terminal browser has no twin in bridge; the command says,
in one line, which `bridge log` forms show the same record (exit code 0, so a redun
habit is a pointer, not an error)."""

from __future__ import annotations

import click

REPLACEMENT = ("bridge has no console: `bridge log` lists executions, `bridge log ID` shows "
               "an execution's job tree, a job or a call with its arguments and result, "
               "`bridge log PATH` a file's provenance, `bridge viz ID` draws the call graph")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def console() -> None:
    """What replaces redun's console: the `bridge log` forms."""
    click.echo(REPLACEMENT)
