"""Task arguments named like a command's own options, and secret arguments, as a user
meets them: separate `bridge` processes. bridge's own options go before the workflow;
everything after the task's name is the task's. A secret argument's value is kept out of
the execution's description and of `bridge log`."""

from __future__ import annotations

import ast
import json
import sqlite3
from pathlib import Path

from workflows import bridge

WORKFLOW = '''
from bridge import Secret, task


@task()
def clash(tag: str = "none", config: str = "c0", execution_id: str = "e0",
          option: str = "o0", no_cache: bool = False, dryrun: bool = False,
          names: list[str] | None = None) -> dict:
    """Arguments named like bridge run's own options."""
    return {"tag": tag, "config": config, "execution_id": execution_id, "option": option,
            "no_cache": no_cache, "dryrun": dryrun, "names": names}


@task()
def plain(n: int = 1) -> int:
    return n


@task()
def login(user: str, password: str, api_key: str, pin: Secret, tokenizer: str = "bpe") -> str:
    """The secrets reach the body as they were given."""
    ok = (password, api_key, pin) == ("hunter2", "k-31337", "4242")
    return f"{user} {tokenizer} {'right' if ok else 'wrong'}"
'''


def result_of(run) -> object:
    return ast.literal_eval(run.stdout.strip())


def test_task_arguments_after_the_task_name_are_the_tasks(workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    run = bridge(workdir, "run", "--tag", "team=core", "--execution-id", "ex-1", "wf.py",
                 "clash", "--tag", "mine", "--config=cfg", "--execution_id", "inner",
                 "--option", "fast", "--no-cache", "--dryrun", "--names", "a",
                 "--names", "b,c")
    assert result_of(run) == {"tag": "mine", "config": "cfg", "execution_id": "inner",
                              "option": "fast", "no_cache": True, "dryrun": True,
                              "names": ["a", "b", "c"]}
    # bridge's own options, before the workflow, still did their work
    shown = json.loads(bridge(workdir, "log", "ex-1", "--format", "json").stdout)
    assert shown["tags"] == {"team": "core"}
    assert shown["description"].startswith("wf.py clash --tag mine --config=cfg")
    # a flag given false, and --name=value for a flag
    run = bridge(workdir, "run", "wf.py", "clash", "--no-no-cache", "--dryrun=false")
    assert result_of(run)["no_cache"] is False and result_of(run)["dryrun"] is False


def test_bridge_options_after_the_task_name_are_refused_with_where_they_go(
        workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    for misplaced in (["--no-cache"], ["--tag", "k=v"], ["-o", "memory=2"]):
        refused = bridge(workdir, "run", "wf.py", "plain", "--n", "2", *misplaced, check=False)
        assert refused.returncode == 2, refused.stderr
        assert "Traceback" not in refused.stderr
        [line] = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
        assert misplaced[0] in line and "before the workflow" in line, line
    assert not (workdir / ".bridge").exists()  # nothing ran


def test_help_after_the_task_name_shows_the_tasks_arguments(workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    for command in (["run"], ["prefect", "run"], ["airflow", "export", "-o", "dag.py"]):
        helped = bridge(workdir, *command, "wf.py", "clash", "--help")
        lines = helped.stdout.splitlines()
        assert "Arguments named like bridge run's own options." in lines
        assert any(line.split()[:2] == ["--tag", "str"] for line in lines), helped.stdout
        assert any(line.split()[0] == "--no-cache" for line in lines if line.strip())
        where = lines[-1]
        assert where.startswith(f"bridge {' '.join(command[:2])}'s own options"), where
        assert "go before WORKFLOW" in where
    assert "-o/--output" in where and "--config" in where  # airflow export's own
    own = bridge(workdir, "run", "--help").stdout
    assert "go before\n  WORKFLOW" in own or "go before WORKFLOW" in own.replace("\n  ", " ")
    assert "[TASK ARGS]" in own.splitlines()[0]


def test_secret_arguments_are_not_recorded_as_text(workdir: Path) -> None:
    (workdir / "wf.py").write_text(WORKFLOW)
    run = bridge(workdir, "run", "--execution-id", "sec-1", "wf.py", "login", "--user",
                 "bob", "--password", "hunter2", "--api-key=k-31337", "--pin", "4242",
                 "--tokenizer", "wordpiece")
    assert result_of(run) == "bob wordpiece right"
    with sqlite3.connect(workdir / ".bridge" / "bridge.db") as db:
        [description] = db.execute(
            "SELECT description FROM executions WHERE execution_id = 'sec-1'").fetchone()
        previews = [row[0] for row in db.execute("SELECT preview FROM stored_values")]
    assert description == ("wf.py login --user bob --password *** --api-key=*** --pin *** "
                           "--tokenizer wordpiece")
    assert "'bob'" in previews and "'wordpiece'" in previews
    shown = [bridge(workdir, "log").stdout, bridge(workdir, "log", "sec-1").stdout,
             bridge(workdir, "log", "sec-1", "--format", "json").stdout]
    assert "password=***" in shown[1] and "user='bob'" in shown[1]
    for text in [description, *previews, *shown]:
        for secret in ("hunter2", "k-31337", "4242"):
            assert secret not in text
    helped = bridge(workdir, "run", "wf.py", "login", "--help").stdout.splitlines()
    assert [line.split()[0] for line in helped if "(secret: recorded as ***)" in line] == \
        ["--password", "--api-key", "--pin"]
    # the values themselves are kept for the cache: the same call replays
    again = bridge(workdir, "run", "wf.py", "login", "--user", "bob", "--password", "hunter2",
                   "--api-key", "k-31337", "--pin", "4242", "--tokenizer", "wordpiece")
    assert result_of(again) == "bob wordpiece right"
    [counts] = [line.split()[3:] for line in again.stderr.splitlines()
                if line.startswith("[bridge] | login ")]
    assert counts == ["0", "0", "0", "1", "0", "1"]  # PENDING ... CACHED DONE TOTAL
