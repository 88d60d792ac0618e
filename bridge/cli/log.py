"""`bridge log`: recent executions, one execution, job or call, the files, and the
upstream dataflow of a file."""

from __future__ import annotations

import os

import click

from bridge.cli.common import UserError, config_option, open_record

STATUSES = ("PENDING", "RUNNING", "DONE", "CACHED", "FAILED", "CANCELLED", "INTERRUPTED")


@click.command()
@click.argument("ident", required=False, metavar="[ID|PATH|-]")
@click.option("--file", "files", is_flag=True,
              help="Every file read (r) or written (w), of all executions or of ID.")
@click.option("--task", help="Only jobs of this task (full name or last part).")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False),
              help="Only jobs with this status.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("-n", "--limit", default=20, show_default=True, help="How many to list.")
@config_option
def log(ident: str | None, files: bool, task: str | None, status: str | None, fmt: str,
        limit: int, config_dir: str | None) -> None:
    """Show the record: recent executions; an execution, job or call by id prefix
    (`-` is the latest execution); or, for a file PATH, the job that produced it and
    its upstream dataflow."""
    from bridge import history, provenance

    store = open_record(config_dir)
    try:
        if ident is None:
            if files:
                view, render = history.files_view(store, None), history.render_files
            elif task or status:
                view = history.jobs_view(store, task, status, limit)
                render = history.render_jobs
            else:
                view, render = history.executions_view(store, limit), history.render_executions
        elif _looks_like_path(ident):
            view, render = provenance.file_view(store, ident), provenance.render_file
        else:
            try:
                kind, row = history.resolve(store, ident)
            except history.NotFound:
                if ident == "-" or not provenance.calls_for_path(store, ident):
                    raise
                kind, row = "file", {}
            if kind == "execution" and files:
                view, render = history.files_view(store, row["execution_id"]), \
                    history.render_files
            elif kind == "execution":
                view = history.execution_view(store, row, task, status)
                render = history.render_execution
            elif kind == "job":
                view, render = history.job_view(store, row), history.render_job
            elif kind == "call":
                view, render = history.call_view(store, row), history.render_call
            else:
                view, render = provenance.file_view(store, ident), provenance.render_file
    except history.NotFound as error:
        raise UserError(str(error)) from None
    finally:
        store.close()
    if fmt == "json":
        import json

        click.echo(json.dumps(view, indent=2, default=str))
    else:
        click.echo(render(view).rstrip())


def _looks_like_path(ident: str) -> bool:
    return "/" in ident or "://" in ident or os.path.exists(ident)
