"""`bridge viz [ID] -o graph.svg|png|dot|html`: draw an execution's call graph."""

from __future__ import annotations

import os

import click

from bridge.cli.common import UserError, config_option, open_record


def output_format(output: str, option: str = "-o") -> str:
    """The graph format an output file's suffix names."""
    from bridge.viz import FORMATS

    fmt = os.path.splitext(output)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise UserError(f"{option} {output}: the suffix must be one of "
                        + ", ".join("." + f for f in FORMATS))
    return fmt


@click.command()
@click.argument("ident", required=False, default="-", metavar="[ID]")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="graph.svg, graph.png, graph.dot or graph.html (format from the suffix).")
@config_option
def viz(ident: str, output: str, config_dir: str | None) -> None:
    """Draw the call graph of execution ID (default: the latest): jobs coloured by
    status, dataflow edges labelled with the argument they fed."""
    from bridge import history
    from bridge.interrupted import shown_jobs
    from bridge.viz import VizError, render, to_dot

    fmt = output_format(output)
    store = open_record(config_dir)
    try:
        kind, row = history.resolve(store, ident)
        if kind != "execution":
            raise history.NotFound(f"{ident!r} is a {kind}, not an execution: "
                                   "`bridge log` lists executions")
        graph = store.execution_graph(row["execution_id"], with_calls=False)
        graph.jobs = shown_jobs(store, graph.jobs)
        data = render(to_dot(graph, row), fmt)
    except (history.NotFound, VizError) as error:
        raise UserError(str(error)) from None
    finally:
        store.close()
    with open(output, "wb") as handle:
        handle.write(data)
    click.echo(f"Wrote the call graph of execution {row['execution_id'][:8]} to {output}")
