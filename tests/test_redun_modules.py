"""Coming from redun: the module paths a redun user imports (`bridge.functools`,
`bridge.task`, `bridge.expression`, `bridge.scheduler`, `bridge.file`, `bridge.tools`,
`bridge.pytest`), `Task.partial`, and the job context a body reads (`JobInfo`); and
workflows in the spirit of redun's examples (tests/redun_style/), run as a user runs them."""

from __future__ import annotations

import ast
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import bridge
from bridge import Scheduler, task
from bridge.expression import (
    Expression,
    QuotedExpression,
    SchedulerExpression,
    SimpleExpression,
    TaskExpression,
    ValueExpression,
    quote,
)
from bridge.functools import (
    apply_func,
    as_task,
    compose,
    const,
    delay,
    eval_,
    flat_map,
    flatten,
    force,
    identity,
    map_,
    seq,
    starmap,
    zip_,
)
from bridge.native.hashing import hash_value
from bridge.native.runner import UnreturnedExpressionWarning
from bridge.scheduler import JobInfo, Traceback, get_current_scheduler
from bridge.task import PartialTask, Task, get_task_registry
from workflows import bridge as bridge_cli
from workflows import ran_tasks

bridge_namespace = "redun_modules"
STYLE = Path(__file__).parent / "redun_style"
calls: list[str] = []


@task
def add(a: int, b: int) -> int:
    calls.append(f"add({a}, {b})")
    return a + b


@task
def double(x: int) -> int:
    calls.append(f"double({x})")
    return 2 * x


@task
def apply_to_ten(a_task: Task) -> int:
    calls.append("apply_to_ten")
    return a_task(10)


@task
def words(text: str) -> list[str]:
    return text.split()


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def with_job_info(x: int, job_info: JobInfo = JobInfo()) -> dict:
    return {"execution_id": job_info.execution_id, "job_id": job_info.job_id,
            "eval_hash": job_info.eval_hash, "x": x}


@task
def parent_with_job_info(job_info: JobInfo = JobInfo()) -> list:
    return [job_info.job_id, with_job_info(1)]


@task
def returns_delayed(x: int) -> PartialTask:
    return delay(double(x))


@task
def current_scheduler_seen() -> bool:
    return get_current_scheduler(required=False) is not None


def add_plain(a: int, b: int) -> int:
    return a + b


# -- module paths --------------------------------------------------------------------


def test_redun_module_paths_offer_redun_names() -> None:
    import bridge.file
    import bridge.tools

    for name in ("File", "Dir", "StagingFile", "StagingDir", "get_filesystem"):
        assert hasattr(bridge.file, name), name
    assert isinstance(bridge.tools.debug_task, Task)
    assert TaskExpression is type(add(1, 2)) and isinstance(add(1, 2), Expression)
    assert isinstance(add(1, 2) + 1, SimpleExpression)
    assert isinstance(seq([add(1, 2)]), SchedulerExpression)
    assert get_task_registry().get("redun_modules.add") is add
    for name in ("PartialTask", "get_task_registry", "get_current_scheduler",
                 "set_current_scheduler", "get_current_namespace", "run", "version"):
        assert hasattr(bridge, name), name


def test_bridge_file_helpers_act_at_once_as_redun_files_do(workdir: Path) -> None:
    from bridge.file import copy_file, glob_file, open_file

    (workdir / "reads").mkdir()
    for name in ("b_2.fq", "a_1.fq"):
        (workdir / "reads" / name).write_text(name)
    assert glob_file("reads/*.fq") == ["reads/a_1.fq", "reads/b_2.fq"]
    copy_file("reads/a_1.fq", "copies/a.fq")
    with open_file("copies/a.fq") as copied:
        assert copied.read() == "a_1.fq"
    copy_file("reads", "all", recursive=True)
    assert sorted(p.name for p in (workdir / "all").iterdir()) == ["a_1.fq", "b_2.fq"]


def test_bridge_task_stays_the_decorator_once_the_module_is_imported() -> None:
    code = ("import bridge.task, bridge; from bridge import task; "
            "assert callable(task) and bridge.task is task, bridge.task; "
            "import sys; assert 'sqlalchemy' not in sys.modules and 'pydantic' not in "
            "sys.modules, 'import bridge loaded the store'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_scheduler_task_is_one_clear_line_saying_what_to_write_instead(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text(
        "from bridge.task import scheduler_task, task\n\n"
        "@scheduler_task()\n"
        "def my_cond(scheduler, parent_job, sexpr, pred, then, else_):\n"
        "    pass\n"
    )
    run = bridge_cli(tmp_path, "run", "workflow.py", "main", check=False)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no @scheduler_task: write the control flow with cond, seq, catch" in run.stderr


def test_run_evaluates_with_the_projects_scheduler(workdir: Path) -> None:
    assert bridge.run(add(2, 3)) == 5
    assert (workdir / ".bridge" / "bridge.db").exists()


def test_namespace_called_plainly_holds_until_unset() -> None:
    bridge.namespace("acme_plain")
    try:
        @task
        def in_acme() -> int:
            return 1
    finally:
        bridge.namespace(None)

    @task
    def after_acme() -> int:
        return 2

    assert in_acme.fullname == "acme_plain.in_acme"
    assert after_acme.fullname == "redun_modules.after_acme"  # the module's namespace again


def define_twin_in_one_test() -> Task:
    @task
    def twin(x: int) -> int:
        return x + 1

    return twin


def define_twin_in_another_test() -> Task:
    @task
    def twin(x: int) -> int:
        return x + 2

    return twin


def test_a_function_defined_again_in_another_function_replaces_the_first() -> None:
    define_twin_in_one_test()
    second = define_twin_in_another_test()
    assert get_task_registry().get("redun_modules.twin") is second


# -- Task.partial --------------------------------------------------------------------


def test_a_partial_is_called_later_with_the_rest_of_the_arguments(scheduler: Scheduler) -> None:
    inc = add.partial(1)
    assert isinstance(inc, PartialTask) and isinstance(inc, Task)
    assert inc.fullname == "redun_modules.add"
    expr = inc(10)
    assert isinstance(expr, TaskExpression) and expr.args == (1, 10)
    assert scheduler.run(expr) == 11
    assert scheduler.run(add.partial(b=1)(10)) == 11
    assert scheduler.run(add.partial(a=2)(a=3, b=3)) == 6  # a later keyword wins
    assert scheduler.run(add.partial(1).partial(2)()) == 3
    with pytest.raises(TypeError):
        scheduler.run(add.partial(a=1, b=2)(3))


def test_partial_options_reach_the_call() -> None:
    assert add.partial(1).options(memory=4)(2).options == {"memory": 4}
    assert add.options(memory=2).partial(1)(2).options == {"memory": 2}
    assert add.partial(1).options(memory=4).get_task_option("memory") == 4
    assert not add.has_task_option("memory")


def test_a_partial_hashes_by_its_task_and_arguments_stably() -> None:
    assert hash_value(add.partial(1)) == hash_value(add.partial(1))
    assert hash_value(add.partial(1)) != hash_value(add.partial(2))
    assert hash_value(add.partial(1)) != hash_value(double.partial(1))
    # a lazy argument hashes by its structure, the same in another process
    code = ("import test_redun_modules as m; from bridge.native.hashing import hash_value; "
            "print(hash_value(m.add.partial(m.double(2))))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).parent).stdout.strip()
    assert other == hash_value(add.partial(double(2)))
    assert pickle.loads(pickle.dumps(add.partial(1, b=2))).kwargs == {"b": 2}


def test_a_partial_passed_to_a_task_is_cached_like_any_argument(scheduler: Scheduler) -> None:
    calls.clear()
    assert scheduler.run(apply_to_ten(add.partial(1))) == 11
    assert calls == ["apply_to_ten", "add(1, 10)"]
    calls.clear()
    assert scheduler.run(apply_to_ten(add.partial(1))) == 11
    assert calls == []
    assert scheduler.run(apply_to_ten(add.partial(2))) == 12
    assert calls == ["apply_to_ten", "add(2, 10)"]


def test_map_takes_a_partial(scheduler: Scheduler) -> None:
    assert scheduler.run(map_(add.partial(1), [1, 2, 3])) == [2, 3, 4]
    assert scheduler.run(map_(identity(double), numbers(3))) == [0, 2, 4]


# -- bridge.functools ----------------------------------------------------------------


def test_functools_helpers(scheduler: Scheduler) -> None:
    assert scheduler.run(compose(double, add.partial(1))(2)) == 6
    assert scheduler.run(const(1, double(5))) == 1
    assert scheduler.run(seq([double(1), double(2)])) == [2, 4]
    assert scheduler.run(flatten(map_(words, ["a b", "c"]))) == ["a", "b", "c"]
    assert scheduler.run(flat_map(words, ["a b", "c"])) == ["a", "b", "c"]
    assert scheduler.run(zip_(numbers(2), numbers(3))) == [(0, 0), (1, 1)]
    assert scheduler.run(apply_func(max, numbers(4))) == 3
    assert scheduler.run(as_task(add_plain)(1, b=numbers(3)[2])) == 3
    assert scheduler.run(map_(as_task(add_plain).partial(10), [1, 2])) == [11, 12]
    assert scheduler.run(starmap(add, [{"a": 1, "b": 2}, {"a": 3, "b": 4}])) == [3, 7]
    assert scheduler.run(starmap(add, map_(eval_.partial("{'a': x, 'b': x}", pos_args=["x"]),
                                           [1, 2]))) == [2, 4]


def test_eval_takes_keywords_positionals_and_indented_code(scheduler: Scheduler) -> None:
    assert scheduler.run(eval_("[x * k for x in xs]", xs=numbers(3), k=2)) == [0, 2, 4]
    assert scheduler.run(eval_("x + y", 1, 2, pos_args=["x", "y"])) == 3
    assert scheduler.run(eval_("""
        a * 2
        """, a=4)) == 8
    with pytest.raises(TypeError, match="pos_args"):
        scheduler.run(eval_("x", 1, 2, pos_args=["x"]))


def test_delay_runs_nothing_until_forced(scheduler: Scheduler) -> None:
    calls.clear()
    delayed = delay(double(21))
    assert isinstance(scheduler.run(identity(delayed)), PartialTask)
    assert calls == []
    assert scheduler.run(force(delayed)) == 42
    assert calls == ["double(21)"]


def test_a_call_kept_in_a_returned_partial_is_not_reported_unreturned(
        scheduler: Scheduler) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreturnedExpressionWarning)
        delayed = scheduler.run(returns_delayed(3))
    assert scheduler.run(force(delayed)) == 6


def test_functools_calls_are_cached(scheduler: Scheduler) -> None:
    def expressions() -> list:
        return [compose(double, add.partial(1))(3), flat_map(words, ["x y"]),
                map_(add.partial(5), [1, 2]), starmap(add, [{"a": 7, "b": 8}])]

    assert scheduler.run(expressions()) == [8, ["x", "y"], [6, 7], [15]]
    calls.clear()
    seen: list[str] = []
    scheduler.run(expressions(), listener=lambda job, status: seen.append(status))
    assert calls == [] and "RUNNING" not in seen and "CACHED" in seen


# -- expressions -----------------------------------------------------------------------


def test_lazy_and_or_and_value_and_quoted_expressions(scheduler: Scheduler) -> None:
    assert scheduler.run(identity(True) & identity(False)) is False
    assert scheduler.run(identity(False) | True) is True
    assert scheduler.run(ValueExpression(add(1, 2))) == 3
    quoted = scheduler.run(identity(quote(double(4))))
    assert isinstance(quoted, QuotedExpression)
    assert scheduler.run(quoted.eval()) == 8


# -- bridge.scheduler ------------------------------------------------------------------


def test_job_info_names_the_running_job(scheduler: Scheduler) -> None:
    parent_id, child = scheduler.run(parent_with_job_info())
    execution = scheduler.store.find_executions(limit=1)[0]
    jobs = scheduler.store.execution_graph(execution["execution_id"]).jobs
    assert child["execution_id"] == execution["execution_id"]
    assert {parent_id, child["job_id"]} == {job["job_id"] for job in jobs}
    assert child["eval_hash"] in {job["call_hash"] for job in jobs}


def test_job_info_takes_no_part_in_the_call_hash(scheduler: Scheduler) -> None:
    first = scheduler.run(with_job_info(5))
    again = scheduler.run(with_job_info(5, JobInfo()))  # cached: the same call
    assert again == first
    other = scheduler.run(with_job_info(6))
    assert other["eval_hash"] != first["eval_hash"]


def test_current_scheduler_is_known_on_the_running_thread(scheduler: Scheduler) -> None:
    seen = []

    def listener(job: object, status: str) -> None:
        seen.append(get_current_scheduler())

    scheduler.run(current_scheduler_seen(), listener=listener)
    assert seen and all(s is scheduler for s in seen)
    assert get_current_scheduler(required=False) is None
    with pytest.raises(RuntimeError, match="no scheduler is running"):
        get_current_scheduler()


def test_traceback_keeps_the_users_frames(scheduler: Scheduler) -> None:
    @task
    def fails() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError) as raised:
        scheduler.run(fails())
    traceback = Traceback.from_error(raised.value)
    assert [frame.name for frame in traceback.frames][-1] == "fails"
    assert all("/native/" not in frame.filename for frame in traceback.frames)
    assert "ValueError: boom" in "".join(traceback.format())


# -- workflows in the spirit of redun's examples -----------------------------------------


def copy_style(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(STYLE / name, folder)
    shutil.copy(STYLE / "ranlog.py", folder)
    return folder


def run_main(folder: Path, *args: str) -> object:
    return ast.literal_eval(bridge_cli(folder, "run", "workflow.py", *args).stdout)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_control_flow_example(tmp_path: Path) -> None:
    folder = copy_style("control_flow", tmp_path)
    assert run_main(folder, "main") == {
        "ratios": [2.0, -1.0], "rescued": "rescued: ValueError", "in_order": ["a", "b", "c"],
        "bigger": "big",
    }
    assert ran_tasks(folder) == sorted([
        "main", "safe_ratios", "ratio", "ratio", "fallback", "rescued", "fail", "explain",
        "say", "say", "say", "is_big", "big_label"])  # not small_label: cond's other branch
    assert (folder / "said.log").read_text() == "abc"
    assert run_main(folder, "main") is not None and ran_tasks(folder) == []
    edit(folder / "workflow.py", 'return "big"', 'return "BIG"')
    assert run_main(folder, "main")["bigger"] == "BIG"
    assert ran_tasks(folder) == ["big_label", "main"]
    assert run_main(folder, "main", "--n", "2")["bigger"] == "small"
    assert ran_tasks(folder) == ["is_big", "main", "small_label"]


def test_recursion_example(tmp_path: Path) -> None:
    folder = copy_style("recursion", tmp_path)
    assert run_main(folder, "fib", "--n", "10") == 89
    first = ran_tasks(folder)
    assert first.count("fib") == 11  # fib(0..10), each once: equal calls run once
    assert run_main(folder, "fib", "--n", "10") == 89 and ran_tasks(folder) == []
    assert run_main(folder, "fib", "--n", "11") == 144
    assert ran_tasks(folder) == ["add", "fib"]  # only fib(11) and its add are new


def test_higher_order_example(tmp_path: Path) -> None:
    folder = copy_style("higher_order", tmp_path)
    assert run_main(folder, "main") == {"sum": 21, "product": 720, "offset_sum": 26}
    assert "reduce_with" in ran_tasks(folder)
    assert run_main(folder, "main") is not None and ran_tasks(folder) == []
    edit(folder / "workflow.py", "return a * b", "return a * b * 1")
    assert run_main(folder, "main")["product"] == 720
    again = ran_tasks(folder)
    assert "multiply" in again and "plus" not in again and "plus_offset" not in again


def test_functools_example(tmp_path: Path) -> None:
    folder = copy_style("functools", tmp_path)
    expected = {
        "doubled": [0, 2, 4, 6], "sums": [3, 7], "words": ["to", "be", "or", "not"],
        "shifted": [10, 11, 12, 13], "double_then_shift": 18, "longest": 3, "count": 4,
        "delayed": 9, "tripled": [0, 3, 6, 9], "pairs": [(0, "to"), (1, "be")],
        "kept": "first",
    }
    assert run_main(folder, "main") == expected
    assert "split" in ran_tasks(folder)
    assert run_main(folder, "main") == expected and ran_tasks(folder) == []
    edit(folder / "workflow.py", "return text.split()", "return text.upper().split()")
    result = run_main(folder, "main")
    assert result["words"] == ["TO", "BE", "OR", "NOT"] and result["doubled"] == [0, 2, 4, 6]
    again = ran_tasks(folder)
    assert "split" in again and "double" not in again and "add" not in again


def test_job_info_example(tmp_path: Path) -> None:
    folder = copy_style("job_info", tmp_path)
    run = bridge_cli(folder, "run", "workflow.py", "main", "--x", "2")
    result = ast.literal_eval(run.stdout)
    assert result["total"] == 6 and result["execution_id"] in run.stderr
    output = folder / "outputs" / result["eval_hash"] / "sum.txt"
    assert output.read_text() == "6"
    assert ran_tasks(folder) == ["main", "write_sum"]
    assert run_main(folder, "main", "--x", "2") == result and ran_tasks(folder) == []
    changed = run_main(folder, "main", "--x", "3")
    assert changed["eval_hash"] != result["eval_hash"] and ran_tasks(folder) == [
        "main", "write_sum"]
    # the placeholder is the scheduler's to fill, not a command-line argument
    shown = bridge_cli(folder, "run", "workflow.py", "write_sum", "--help").stdout
    assert "--a" in shown and "job-info" not in shown


def test_debugging_example_stops_in_pdb_at_debug_task(tmp_path: Path) -> None:
    folder = copy_style("debugging", tmp_path)
    run = subprocess.run([str(Path(sys.executable).with_name("bridge")), "run", "workflow.py",
                          "main"], cwd=folder, input="p value * 100\nc\n", capture_output=True,
                         text=True, timeout=60, check=True)
    assert "(Pdb) 600" in run.stdout  # the dataflow's value at the breakpoint
    assert run.stdout.splitlines()[-1].endswith("10")  # the result, after pdb's prompt
    assert ran_tasks(folder) == ["add", "add", "add", "main"]
    assert run_main(folder, "main") == 10 and ran_tasks(folder) == []  # cached: no stop


def test_testing_example_runs_under_pytest_with_the_scheduler_fixture(tmp_path: Path) -> None:
    folder = copy_style("testing", tmp_path)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "test_workflow.py"], cwd=folder, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7 passed" in run.stdout
    assert not (folder / ".bridge").exists()  # the fixture's store is the test's own
    # as a redun user would also write it: no double registration
    (folder / "conftest.py").write_text('pytest_plugins = ["bridge.pytest"]\n')
    again = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "test_workflow.py"], cwd=folder, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
