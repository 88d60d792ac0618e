"""`bridge report [ID] -o report.html`: an execution as one self-contained HTML page."""

from __future__ import annotations

import click

from bridge.cli.common import UserError, config_option, open_record, write_output


@click.command()
@click.argument("ident", required=False, default="-", metavar="[ID]")
@click.option("-o", "--output", default="report.html", show_default=True, metavar="FILE",
              help="The HTML file to write.")
@config_option
def report(ident: str, output: str, config_dir: str | None) -> None:
    """Write a report of execution ID (default: the latest) as one HTML file that opens
    in any browser, offline: its summary, every step with its arguments, command and
    output, every file with the chain of calls that made it, and the call graph."""
    from bridge import history
    from bridge.report.data import gather
    from bridge.report.page import render

    store = open_record(config_dir)
    try:
        row = history.resolve_execution(store, ident)
        data = gather(store, row)
    except history.NotFound as error:
        raise UserError(str(error)) from None
    finally:
        store.close()
    write_output(output, render(data), "report")
    graph_note = data["graph"]["note"]
    note = f" (without the call graph: {graph_note})" if graph_note else ""
    click.echo(f"Wrote the report of execution {row['execution_id'][:8]} "
               f"({data['execution']['status']}, {len(data['jobs'])} "
               f"job{'' if len(data['jobs']) == 1 else 's'}) to {output}{note}")
