"""Task semantics redun users rely on: unpacking (nout), catch, tags, prov=False and
no_prov, task name validation, context, async tasks; and workflows in the spirit of
redun's no_prov, tags and context examples (tests/redun_style/), run as a user runs them."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
import warnings
from pathlib import Path
from typing import Tuple  # noqa: UP035 - redun users write typing.Tuple

import pytest
from sqlalchemy import func, select

from bridge import Scheduler, apply_tags, catch, get_context, task
from bridge.native import schema
from bridge.native.control import no_prov
from bridge.native.task import TaskError
from bridge.task import CacheCheckValid, CacheScope
from workflows import bridge, ran_tasks, write_workflow

STYLE = Path(__file__).parent / "redun_style"
calls: list[str] = []


def _body() -> int:
    return 1


def copy_example(name: str, folder: Path) -> Path:
    target = folder / name
    shutil.copytree(STYLE / name, target)
    return target


def job_count(scheduler: Scheduler) -> int:
    with scheduler.store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(schema.jobs)).scalar_one()


# -- unpacking a call ---------------------------------------------------------------------

@task
def sem_pair(x: int) -> tuple[int, str]:
    return x, str(x)


@task
def sem_triple(x: int) -> Tuple[int, int, int]:  # noqa: UP006
    return x, x + 1, x + 2


@task(nout=2)
def sem_two_list(x: int) -> list:
    return [x, -x]


@task
def sem_many(x: int) -> tuple[int, ...]:
    return (x,)


@task
def sem_join(*parts: object) -> str:
    return "-".join(map(str, parts))


@task
def sem_unpacking_main(x: int) -> str:
    number, text = sem_pair(x)
    a, b, c = sem_triple(x)
    plus, minus = sem_two_list(x)
    first, _second = sem_many.options(nout=2)(x)  # a call site may say it too
    return sem_join(number, text, a, b, c, plus, minus, first)


def test_calls_unpack_by_fixed_size_tuple_annotation_or_nout(scheduler: Scheduler) -> None:
    assert scheduler.run(sem_unpacking_main(3)) == "3-3-3-4-5-3--3-3"


def test_unpacking_an_unsized_call_says_which_task_and_how_to_fix_it() -> None:
    for call in (sem_many(1), sem_join(1)):
        with pytest.raises(TypeError, match=r"nout=N\).*tuple|tuple.*nout=N") as error:
            _a, _b = call
        assert call.task.fullname in str(error.value)
    with pytest.raises(TypeError, match="nout"):
        task(nout=-1, name="sem_nout_negative")(_body)
    with pytest.raises(TypeError, match="nout"):
        task(nout="2", name="sem_nout_text")(_body)


# -- catch --------------------------------------------------------------------------------

@task
def sem_divide(a: int, b: int) -> float:
    calls.append("divide")
    return a / b


@task
def sem_lookup(key: str) -> int:
    calls.append("lookup")
    return {"a": 1}[key]


@task
def sem_fallback(error: Exception) -> str:
    calls.append("fallback")
    return f"fallback:{type(error).__name__}"


@task
def sem_other(error: Exception) -> str:
    return "other"


def test_catch_takes_a_tuple_of_classes_and_several_pairs(scheduler: Scheduler) -> None:
    calls.clear()
    assert scheduler.run(catch(sem_divide(1, 0), (KeyError, ZeroDivisionError),
                               sem_fallback)) == "fallback:ZeroDivisionError"
    assert scheduler.run(catch(sem_lookup("b"), ZeroDivisionError, sem_other,
                               (IndexError, KeyError), sem_fallback)) == "fallback:KeyError"
    with pytest.raises(ZeroDivisionError):
        scheduler.run(catch(sem_divide(2, 0), (KeyError, ValueError), sem_fallback))
    with pytest.raises(TypeError, match="exception class"):
        catch(sem_divide(1, 0), (KeyError, "oops"), sem_fallback)


def test_a_recovered_catch_is_cached_and_replayed(workdir: Path) -> None:
    write_workflow(workdir, """
        @task()
        def divide(a: int, b: int) -> float:
            ran("divide")
            return a / b

        @task()
        def recover(error: Exception) -> float:
            ran("recover")
            return -1.0

        @task()
        def main(b: int = 0) -> float:
            ran("main")
            return catch(divide(1, b), (KeyError, ZeroDivisionError), recover)
    """)
    assert bridge(workdir, "run", "workflow.py", "main").stdout.strip().endswith("-1.0")
    assert ran_tasks(workdir) == ["divide", "main", "recover"]
    assert bridge(workdir, "run", "workflow.py", "main").stdout.strip().endswith("-1.0")
    assert ran_tasks(workdir) == []  # neither the failing body nor the handler runs
    source = (workdir / "workflow.py").read_text()
    (workdir / "workflow.py").write_text(source.replace("return -1.0", "return -2.0"))
    assert bridge(workdir, "run", "workflow.py", "main").stdout.strip().endswith("-2.0")
    assert ran_tasks(workdir) == ["divide", "main", "recover"]


# -- tags ---------------------------------------------------------------------------------

@task(tags=[("project", "x")])
def sem_tagged(n: int) -> int:
    return apply_tags(n, [("kind", "count")], job_tags=[("step", "tally")],
                      execution_tags=[("team", "omics")])


def test_tags_as_pairs_are_recorded(scheduler: Scheduler) -> None:
    scheduler.run(sem_tagged.options(tags=[("user", "alice")])(2), tags=[("run", "nightly")])
    with scheduler.store.engine.connect() as conn:
        job = conn.execute(select(schema.jobs)).mappings().one()
        execution = conn.execute(select(schema.executions)).mappings().one()
        tags = {(row.entity_kind, row.key, row.value)
                for row in conn.execute(select(schema.tags))}
    assert job["tags"] == {"project": "x", "user": "alice"}
    assert execution["tags"] == {"run": "nightly"}
    assert tags == {("value", "kind", "count"), ("job", "step", "tally"),
                    ("execution", "team", "omics")}
    with pytest.raises(TaskError, match="pairs"):
        task(tags=["project"], name="sem_bad_tags")(_body)


# -- provenance off -----------------------------------------------------------------------

@task
def sem_add(a: int, b: int) -> int:
    calls.append("add")
    return a + b


@task(prov=False)
def sem_sum4_unrecorded(a: int, b: int, c: int, d: int) -> int:
    return sem_add(sem_add(a, b), sem_add(c, d))


def test_prov_false_and_no_prov_leave_no_record_beneath(scheduler: Scheduler) -> None:
    calls.clear()
    assert scheduler.run(sem_sum4_unrecorded(1, 2, 3, 4)) == 10
    assert job_count(scheduler) == 0 and calls == ["add"] * 3
    assert scheduler.run(sem_sum4_unrecorded(1, 2, 3, 4)) == 10  # not cached: it runs
    assert calls == ["add"] * 6
    calls.clear()
    assert scheduler.run(no_prov(sem_add(5, 6) + sem_add(7, 8))) == 26
    assert calls == ["add", "add"]
    assert job_count(scheduler) == 1  # the no_prov call only, which is cached:
    assert scheduler.run(no_prov(sem_add(5, 6) + sem_add(7, 8))) == 26
    assert calls == ["add", "add"]


# -- task names ---------------------------------------------------------------------------

@pytest.mark.parametrize("options", [{"name": "1bad"}, {"name": "bad name"},
                                     {"namespace": "bad-space"}, {"namespace": ".lead"}])
def test_a_bad_task_name_or_namespace_fails_at_decoration(options: dict) -> None:
    with pytest.raises(ValueError, match=r"task (name|namespace)"):
        task(**options)(_body)


def test_a_bad_task_name_is_one_line_from_bridge_run(workdir: Path) -> None:
    write_workflow(workdir, """
        @task(name="count-words")
        def count_words() -> int:
            return 1
    """)
    result = bridge(workdir, "run", "workflow.py", "count_words", check=False)
    assert result.returncode != 0
    assert "task name 'count-words' is not an identifier" in result.stderr
    assert "Traceback" not in result.stderr


# -- context ------------------------------------------------------------------------------

@task
def sem_offset_add(a: int, offset: int = get_context("math.offset", 0)) -> int:
    calls.append(f"offset_add:{offset}")
    return a + offset


@task
def sem_plain(a: int) -> int:
    calls.append("plain")
    return a


@task
def sem_context_main(a: int) -> list:
    return [sem_offset_add(a), sem_plain(a)]


def test_context_reaches_a_deep_task_and_keys_its_cache(scheduler: Scheduler) -> None:
    calls.clear()
    assert scheduler.run(sem_context_main(1)) == [1, 1]
    assert scheduler.run(sem_context_main(1), context={"math": {"offset": 5}}) == [6, 1]
    assert calls == ["offset_add:0", "plain", "offset_add:5"]  # only the reader re-ran
    assert scheduler.run(sem_context_main(1), context={"math": {"offset": 5}}) == [6, 1]
    assert scheduler.run(sem_context_main.update_context({"math": {"offset": 0}})(1)) == [1, 1]
    assert calls == ["offset_add:0", "plain", "offset_add:5"]  # both replayed


def test_context_from_bridge_ini_and_the_command_line(workdir: Path) -> None:
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text("[context]\nmath.offset = 2\n")
    (workdir / "ctx.json").write_text(json.dumps({"math": {"offset": 7, "scale": 3}}))
    write_workflow(workdir, """
        from bridge import get_context

        @task()
        def scale(a: int, offset: int = get_context("math.offset", 0),
                  factor: int = get_context("math.scale", 1)) -> int:
            ran("scale")
            return (a + offset) * factor

        @task()
        def main(a: int = 1) -> int:
            ran("main")
            return scale(a)
    """)

    def result(*options: str) -> str:
        return bridge(workdir, "run", *options, "workflow.py", "main").stdout.strip()

    assert result().endswith("3") and ran_tasks(workdir) == ["main", "scale"]
    assert result().endswith("3") and ran_tasks(workdir) == []
    dryrun = bridge(workdir, "run", "--dryrun", "--context", "math.offset=4", "workflow.py",
                    "main").stdout
    assert "because: context value changed beneath it: math.offset" in dryrun
    assert result("--context", "math.offset=4").endswith("5")
    assert ran_tasks(workdir) == ["main", "scale"]
    assert result("--context-file", "ctx.json").endswith("24")
    assert result("--context-file", "ctx.json", "--context", "math.scale=1").endswith("8")
    bad = bridge(workdir, "run", "--context", "offset", "workflow.py", "main", check=False)
    assert bad.returncode == 2 and "--context 'offset': expected KEY=VALUE" in bad.stderr


def test_a_bad_context_in_bridge_ini_is_one_line(workdir: Path) -> None:
    (workdir / ".bridge").mkdir()
    write_workflow(workdir, """
        @task()
        def main() -> int:
            return 1
    """)
    for text, expected in [
        ("[scheduler]\ncontext = {not json\n", "[scheduler] context: not a readable JSON"),
        ("[scheduler]\ncontext_file = missing.json\n", "context_file missing.json: not a"),
        ("[scheduler]\ncontext = [1, 2]\n", "must be a JSON object, not list"),
    ]:
        (workdir / ".bridge" / "bridge.ini").write_text(text)
        result = bridge(workdir, "run", "workflow.py", "main", check=False)
        assert result.returncode == 2 and expected in result.stderr, result.stderr
        assert "bridge.ini" in result.stderr and "Traceback" not in result.stderr


# -- async tasks --------------------------------------------------------------------------

@task
async def sem_async_add(a: int, b: int) -> int:
    return a + b


@task
def sem_async_caller() -> int:
    return sem_async_add(sem_async_add(1, 2), 4)


@task
def sem_async_double(a: int) -> int:
    calls.append("double")
    return 2 * a


@task
async def sem_async_awaits(a: int) -> int:
    doubled = await sem_async_double(a)
    total = await (sem_async_add(doubled, 1) + 1)
    try:
        await sem_divide(1, 0)
    except ZeroDivisionError:
        total += 100
    return sem_async_add(total, 0)


def test_async_def_tasks_run_and_their_result_is_the_value(scheduler: Scheduler) -> None:
    assert sem_async_add.is_async()
    assert scheduler.run(sem_async_caller()) == 7
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an awaited call is not an unreturned one
        assert scheduler.run(sem_async_awaits(3)) == 108
    assert calls == ["double", "divide"]
    assert scheduler.run(sem_async_awaits(3)) == 108  # cached, awaited children included
    assert calls == ["double", "divide"]
    with scheduler.store.engine.connect() as conn:
        names = [row.task_name for row in conn.execute(select(schema.jobs.c.task_name))]
    assert names.count("sem_async_double") == 1  # recorded under the awaiting job


# -- workflows in the spirit of redun's examples --------------------------------------------

def test_no_prov_example(workdir: Path) -> None:
    folder = copy_example("no_prov", workdir)
    expected = "{'recorded': 107, 'task_option': 107, 'call_option': 131, 'wrapped': 108}"
    assert bridge(folder, "run", "workflow.py", "main").stdout.strip().endswith(expected)
    assert ran_tasks(folder) == ["main", "score", "score", "score", "score_all",
                                 "score_all", "score_all_unrecorded", "total", "total"]
    log = bridge(folder, "log", "-").stdout
    assert "bridge.no_prov" in log and "score_all_unrecorded" not in log
    assert bridge(folder, "run", "workflow.py", "main").stdout.strip().endswith(expected)
    # main is cached whole: the unrecorded calls beneath it are not run again
    assert ran_tasks(folder) == []
    edited = (folder / "workflow.py").read_text().replace("ord(letter) - 96", "ord(letter) - 95")
    (folder / "workflow.py").write_text(edited)
    assert "'recorded': 118" in bridge(folder, "run", "workflow.py", "main").stdout
    assert ran_tasks(folder) == ["main", "score", "score", "score", "score_all",
                                 "score_all", "score_all_unrecorded", "total", "total"]


def test_tags_example(workdir: Path) -> None:
    folder = copy_example("tags", workdir)
    assert bridge(folder, "run", "workflow.py", "main").stdout.strip().endswith("4")
    assert ran_tasks(folder) == ["clean", "count_words", "main"]
    execution = bridge(folder, "log", "-").stdout
    assert "Tags: owner=data-team" in execution
    jobs = {name: job for job, name in re.findall(r"Job (\w+) .*:  ([\w.]+)\(", execution)}
    clean = bridge(folder, "log", jobs["redun_style.tags.clean"]).stdout
    assert "Tags: project=acme, stage=prep, user=alice" in clean
    assert "Tags: report=weekly" in bridge(folder, "log", jobs["redun_style.tags.main"]).stdout
    count = bridge(folder, "log", jobs["redun_style.tags.count_words"]).stdout
    assert "Tags: unit=words" in count
    assert bridge(folder, "run", "workflow.py", "main").stdout.strip().endswith("4")
    assert ran_tasks(folder) == []
    bridge(folder, "run", "workflow.py", "main", "--text", "one two")
    assert ran_tasks(folder) == ["clean", "count_words", "main"]


def test_context_example(workdir: Path) -> None:
    folder = copy_example("context", workdir)

    def run(*options: str) -> dict:
        output = bridge(folder, "run", *options, "workflow.py", "main").stdout.strip()
        return eval(output.splitlines()[-1])  # the printed result dict

    first = {"trimmed": ["ACGT:q30:None", "GGCC:q30:None"], "lengths": [4, 4]}
    assert run() == first
    assert ran_tasks(folder) == ["length", "length", "main", "process", "trim", "trim"]
    assert run() == first and ran_tasks(folder) == []
    assert run("--context", "trimmer.quality=40")["trimmed"] == ["ACGT:q40:None",
                                                                  "GGCC:q40:None"]
    # the readers run again (their parents' bodies too); length, which reads none, replays
    assert ran_tasks(folder) == ["main", "process", "trim", "trim"]
    assert run("--context-file", "context.json")["trimmed"][0] == "ACGT:q25:AGATCGGAAGAGC"
    assert ran_tasks(folder) == ["main", "process", "trim", "trim"]
    assert run() == first and ran_tasks(folder) == []  # back to bridge.ini's: replayed
    (folder / "workflow.py").write_text(
        (folder / "workflow.py").read_text().replace('ran("length")', 'ran("length") or 0'))
    assert run() == first
    assert ran_tasks(folder) == ["length", "length", "main", "process"]


def test_context_in_task_options_picks_the_executor(workdir: Path) -> None:
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(textwrap.dedent("""
        [executors.spare]
        type = local
        [context]
        tool.executor = spare
    """))
    write_workflow(workdir, """
        from bridge import get_context

        @task(executor=get_context("tool.executor", "default"))
        def tool() -> str:
            return "done"
    """)
    bridge(workdir, "run", "workflow.py", "tool")
    job = bridge(workdir, "log", "-").stdout.split("Job ")[1].split()[0]
    assert "Executor: spare" in bridge(workdir, "log", job).stdout


SCOPE_RUNS: list[str] = []


@task(cache_scope="NONE")
def scope_none(x: int) -> int:
    SCOPE_RUNS.append("none")
    return x


@task(cache_scope=CacheScope.CSE, check_valid=CacheCheckValid.SHALLOW)
def scope_cse(x: int) -> int:
    SCOPE_RUNS.append("cse")
    return x


@task()
def scope_backend(x: int) -> int:
    SCOPE_RUNS.append("backend")
    return x


@task(cache=False)
def scope_calls(x: int) -> list[int]:
    return [scope_none(x), scope_none(x), scope_cse(x), scope_cse(x), scope_backend(x),
            scope_backend(x), scope_backend.options(cache_scope="none")(x + 1)]


def test_cache_scope_says_where_a_result_may_come_from(scheduler: Scheduler) -> None:
    """redun's cache scopes: NONE runs every call, even two identical ones in one run;
    CSE (``cache=False``) shares a call within its run only; BACKEND (the default) also
    replays what an earlier run left. A call site's scope, in any case, wins."""
    SCOPE_RUNS.clear()
    assert scheduler.run(scope_calls(1)) == [1, 1, 1, 1, 1, 1, 2]
    assert sorted(SCOPE_RUNS) == ["backend", "backend", "cse", "none", "none"]
    SCOPE_RUNS.clear()
    assert scheduler.run(scope_calls(1)) == [1, 1, 1, 1, 1, 1, 2]
    assert sorted(SCOPE_RUNS) == ["backend", "cse", "none", "none"]
    assert not scope_none.cache and not scope_cse.cache and scope_backend.cache


SCOPES = """
@task(cache_scope="NONE")
def stamp(day: str) -> File:
    ran("stamp")
    return File(f"out/{day}.txt").write(day)

@task(cache_scope="cse")
def tally(day: str) -> int:
    ran("tally")
    return len(day)

@task()
def label(day: str) -> str:
    ran("label")
    return day.upper()

@task(cache=False)
def main(day: str = "mon") -> list:
    ran("main")
    return [stamp(day), stamp(day), tally(day), tally(day), label(day),
            label.options(cache_scope="None")(day + "!")]
"""


def test_cache_scopes_in_a_workflow_run_twice_by_bridge(workdir: Path) -> None:
    """The scopes as a user meets them: `bridge run` in fresh processes, the argument
    spelled two ways, a file written in a body. NONE runs each call (twice in one run),
    CSE once a run, the default once ever; a call site's scope wins."""
    write_workflow(workdir, SCOPES)
    bridge(workdir, "run", "workflow.py", "main", "--day", "tue")
    assert ran_tasks(workdir) == ["label", "label", "main", "stamp", "stamp", "tally"]
    bridge(workdir, "run", "workflow.py", "main", "--day=tue")
    assert ran_tasks(workdir) == ["label", "main", "stamp", "stamp", "tally"]
    assert (workdir / "out" / "tue.txt").read_text() == "tue"


def test_a_lazy_name_in_a_path_fails_the_run_instead_of_naming_the_file(workdir: Path) -> None:
    """The mistake as a user makes it: a file path built in a body from a call's result,
    which is still lazy there. The run fails and says what to do; no file with the call's
    text for a name is written or cached, and the body's traceback shows the line."""
    write_workflow(workdir, """
        @task()
        def sample_name(i: int) -> str:
            return f"s{i}"

        @task()
        def write(out: File, text: str) -> File:
            return out.write(text)

        @task()
        def main(i: int = 1) -> File:
            return write(File(f"out/{sample_name(i)}.txt"), "hello")
        """)
    result = bridge(workdir, "run", "workflow.py", "main", "--i", "1", check=False)
    assert result.returncode == 1
    shown = result.stderr + result.stdout
    assert "sample_name(1) is lazy and has no text yet" in shown
    assert 'return write(File(f"out/{sample_name(i)}.txt")' in shown  # the user's line
    assert not (workdir / "out").exists()


def test_an_unknown_cache_scope_names_the_task_and_the_scopes() -> None:
    with pytest.raises(TaskError, match=r"task .*everywhere: cache_scope='ALL' is not one "
                                        r"of NONE, CSE, BACKEND"):
        @task(cache_scope="ALL")
        def everywhere() -> int:
            return 1
