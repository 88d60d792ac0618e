"""`bridge viz [ID] -o graph.svg|png|dot|html`: draw an execution's call graph; with
`--dryrun`, the plan of a dry run (`bridge run --dryrun --viz FILE ...`)."""

from __future__ import annotations

import os

import click

from bridge.cli.common import UserError, config_option, open_record, write_output


def output_format(output: str, option: str = "-o") -> str:
    """The graph format an output file's suffix names."""
    from bridge.viz import FORMATS

    fmt = os.path.splitext(output)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise UserError(f"{option} {output}: the suffix must be one of "
                        + ", ".join("." + f for f in FORMATS))
    return fmt


_OUTPUT = ("-o", "--output")
_RUN_TOKENS = "bridge.viz_run_tokens"  # ctx.meta: what `bridge viz --dryrun` hands to run


class _VizCommand(click.Command):
    """With ``--dryrun``, the tokens but ``-o FILE`` are `bridge run --dryrun`'s: its
    options, WORKFLOW, TASK and the task's arguments."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = _task_name_end(args)
        if "--dryrun" not in args[:end]:
            return super().parse_args(ctx, args)
        own, task_args = list(args[:end]), list(args[end:])
        own.remove("--dryrun")
        output = _take_output(own)
        if output is None:
            raise UserError("bridge viz --dryrun needs -o FILE (.svg, .png, .dot or .html) "
                            "before the workflow")
        ctx.params = {"ident": "-", "output": output, "config_dir": None, "dryrun": True}
        ctx.meta[_RUN_TOKENS] = ["--dryrun", "--viz", output, *own, *task_args]
        return []


def _take_output(tokens: list[str]) -> str | None:
    """Remove ``-o FILE``, ``-oFILE``, ``--output FILE`` or ``--output=FILE`` from
    ``tokens``; the FILE, or None when there is none."""
    for index, token in enumerate(tokens):
        if token in _OUTPUT:
            if index + 1 < len(tokens):
                del tokens[index]
                return tokens.pop(index)
            return None
        for prefix in ("--output=", "-o"):
            if token.startswith(prefix) and len(token) > len(prefix):
                del tokens[index]
                return token[len(prefix):]
    return None


def _task_name_end(args: list[str]) -> int:
    """Where `bridge run`'s tokens end and the task's arguments start."""
    from bridge.cli.run import run

    with run.make_context("run", [], resilient_parsing=True) as ctx:
        return run.task_name_end(ctx, args)


@click.command(cls=_VizCommand)
@click.argument("ident", required=False, default="-", metavar="[ID]")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="graph.svg, graph.png, graph.dot or graph.html (format from the suffix).")
@config_option
@click.option("--dryrun", is_flag=True,
              help="Draw the plan of a dry run instead: bridge viz --dryrun -o FILE "
                   "[bridge run's options] WORKFLOW TASK [TASK ARGS].")
@click.pass_context
def viz(ctx: click.Context, ident: str, output: str, config_dir: str | None,
        dryrun: bool) -> None:
    """Draw the call graph of execution ID (default: the latest): jobs coloured by
    status, dataflow edges labelled with the argument they fed. With --dryrun, draw what
    `bridge run --dryrun` plans for WORKFLOW TASK instead (calls that would run, those
    replayed, and those predicted beneath them)."""
    if dryrun:
        from bridge.cli.run import run

        with run.make_context("run", ctx.meta[_RUN_TOKENS], parent=ctx.parent) as run_ctx:
            run.invoke(run_ctx)
        return
    from bridge import history
    from bridge.viz import VizError, render, to_dot

    fmt = output_format(output)
    store = open_record(config_dir)
    try:
        row = history.resolve_execution(store, ident)
        graph = history.shown_graph(store, row["execution_id"])
        data = render(to_dot(graph, row), fmt)
    except (history.NotFound, VizError) as error:
        raise UserError(str(error)) from None
    finally:
        store.close()
    write_output(output, data, "call graph")
    click.echo(f"Wrote the call graph of execution {row['execution_id'][:8]} to {output}")
