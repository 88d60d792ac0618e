"""Custom values, Handles and lazy fields of dataclasses/pydantic models, as redun users
write them; and workflows in the spirit of redun's etl, memoization, allele frequency
and custom value examples, run through `bridge run`."""

from __future__ import annotations

import datetime
import os
import pickle
import shutil
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import pytest

from bridge import File, Handle, Scheduler, merge_handles, task
from bridge.value import InvalidValueError, ProxyValue, Value, get_type_registry
from tests.cli_helpers import assert_user_error, invoke
from tests.workflows import bridge, ran_tasks, write_workflow

bridge_namespace = "redun_values"
ran: Counter = Counter()
STYLE = Path(__file__).parent / "redun_style"


@pytest.fixture(autouse=True)
def _forget_ran() -> None:
    ran.clear()


# -- lazy fields of dataclasses and pydantic models ------------------------------------


@dataclass
class Sample:
    reads: File
    name: str


@dataclass(frozen=True)
class FrozenSample:
    reads: File
    name: str


class ModelSample(pydantic.BaseModel):
    reads: Any
    name: str


KINDS = {"plain": Sample, "frozen": FrozenSample, "pydantic": ModelSample}


@task()
def trim(name: str) -> File:
    ran["trim"] += 1
    trimmed = File(f"{name}.trimmed")
    trimmed.write(name.upper())
    return trimmed


@task()
def describe(sample: Any) -> str:
    ran["describe"] += 1
    assert isinstance(sample.reads, File), f"got {sample.reads!r}"
    return f"{sample.name}:{sample.reads.read()}"


@task()
def samples(kind: str) -> list:
    sample = KINDS[kind](reads=trim(kind), name=kind)
    return [describe(sample), sample]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_lazy_fields_of_records_arrive_concrete(scheduler: Scheduler, kind: str) -> None:
    text, sample = scheduler.run(samples(kind))
    assert text == f"{kind}:{kind.upper()}"
    assert type(sample) is KINDS[kind] and sample.reads == File(f"{kind}.trimmed")
    assert ran == {"trim": 1, "describe": 1}
    ran.clear()
    assert scheduler.run(samples(kind)) == [text, sample]
    assert not ran


@dataclass
class Node:
    value: str
    next_: Node | None


@task()
def label(x: int) -> str:
    return f"#{x}"


def test_nested_records_given_to_run_are_reduced(scheduler: Scheduler) -> None:
    chain = Node(label(1), Node(label(2), None))
    assert scheduler.run(chain) == Node("#1", Node("#2", None))


# -- custom values: hashing, validity, argument parsing --------------------------------


class Threshold(Value):
    """A cutoff with a label for people: the label does not change any result."""

    def __init__(self, cutoff: int, label: str = "") -> None:
        self.cutoff = cutoff
        self.label = label

    def get_hash(self, data: bytes | None = None) -> str:
        return f"cutoff={self.cutoff}"


@task()
def keep_above(values: list, threshold: Threshold) -> list:
    ran["keep_above"] += 1
    return [v for v in values if v >= threshold.cutoff]


def test_a_values_get_hash_is_its_cache_key(scheduler: Scheduler) -> None:
    assert scheduler.run(keep_above([1, 2, 3], Threshold(2, "two"))) == [2, 3]
    assert scheduler.run(keep_above([1, 2, 3], Threshold(2, "relabelled"))) == [2, 3]
    assert ran["keep_above"] == 1
    assert scheduler.run(keep_above([1, 2, 3], Threshold(3))) == [3]
    assert ran["keep_above"] == 2


class Point:
    def __init__(self, x: int, y: int, note: str = "") -> None:
        self.x, self.y, self.note = x, y, note


class PointValue(ProxyValue):
    type = Point

    def get_hash(self, data: bytes | None = None) -> str:
        return f"{self.instance.x},{self.instance.y}"

    @classmethod
    def parse_arg(cls, raw_type: type, arg: str) -> Point:
        x, y = arg.split(",")
        return Point(int(x), int(y))


@task()
def norm(point: Point) -> int:
    ran["norm"] += 1
    return abs(point.x) + abs(point.y)


def test_a_proxy_value_hashes_and_parses_a_class_it_does_not_own(scheduler: Scheduler) -> None:
    assert scheduler.run(norm(Point(3, -4, "first"))) == 7
    assert scheduler.run(norm(Point(3, -4, "a note that does not matter"))) == 7
    assert ran["norm"] == 1
    parsed = get_type_registry().parse_arg(Point, "1,2")
    assert (parsed.x, parsed.y) == (1, 2)


def test_the_registry_parses_dates_and_times_from_iso_8601() -> None:
    registry = get_type_registry()
    assert registry.parse_arg(datetime.datetime, "2022-07-01") == datetime.datetime(2022, 7, 1)
    assert registry.parse_arg(datetime.datetime, "2022-07-01 10:05:33 +0400") == \
        datetime.datetime(2022, 7, 1, 10, 5, 33,
                          tzinfo=datetime.timezone(datetime.timedelta(hours=4)))
    assert registry.parse_arg(datetime.date, "2022-07-01") == datetime.date(2022, 7, 1)
    assert registry.parse_arg(int, "12") == 12
    with pytest.raises(ValueError, match="ISO 8601"):
        registry.parse_arg(datetime.date, "July 1st")


@dataclass
class LeaseToken(Value):
    """A lease kept in a file: valid while the file exists. A dataclass too: its own
    is_valid decides, not its fields'."""

    path: str

    def is_valid(self) -> bool:
        return os.path.exists(self.path)


@task()
def take_lease(path: str) -> LeaseToken:
    ran["take_lease"] += 1
    Path(path).write_text("held")
    return LeaseToken(path)


@dataclass
class Lease:
    token: LeaseToken
    path: str


@task()
def leased(path: str) -> dict:
    ran["leased"] += 1
    return {"leases": [Lease(token=take_lease(path), path=path)]}


def test_a_call_whose_value_is_no_longer_valid_runs_again(scheduler: Scheduler) -> None:
    scheduler.run(leased("lease.txt"))
    scheduler.run(leased("lease.txt"))
    assert ran == {"leased": 1, "take_lease": 1}
    os.remove("lease.txt")
    result = scheduler.run(leased("lease.txt"))
    assert ran == {"leased": 2, "take_lease": 2}
    assert result["leases"][0].token.is_valid()


@task()
def make_counter() -> Any:
    start = 10
    return lambda: start


def test_a_result_that_cannot_be_stored_is_an_invalid_value(scheduler: Scheduler) -> None:
    with pytest.raises(InvalidValueError, match="make_counter"):
        scheduler.run(make_counter())


# -- handles ----------------------------------------------------------------------------


class Ledger(Handle):
    """A SQLite database: the connection is opened again wherever the handle is rebuilt."""

    def __init__(self, name: str, db_file: str) -> None:
        self.db_file = db_file
        self.instance = sqlite3.connect(db_file, check_same_thread=False)


@task()
def create_table(conn: Ledger) -> Ledger:
    ran["create"] += 1
    conn.execute("CREATE TABLE IF NOT EXISTS entries (item TEXT)")
    conn.commit()
    return conn


@task()
def add_entry(conn: Ledger, item: str) -> Ledger:
    ran["add " + item] += 1
    conn.execute("INSERT INTO entries VALUES (?)", (item,))
    conn.commit()
    return conn


@task()
def ledger(items: list) -> Ledger:
    ran["ledger"] += 1
    conn = create_table(Ledger("ledger", "ledger.db"))
    for item in items:
        conn = add_entry(conn, item)
    return conn


def rows(db_file: str) -> list[str]:
    with sqlite3.connect(db_file) as db:
        return [item for (item,) in db.execute("SELECT item FROM entries")]


def test_a_handle_carries_the_chain_of_calls_as_its_state(scheduler: Scheduler) -> None:
    first = scheduler.run(ledger(["a", "b"]))
    assert rows("ledger.db") == ["a", "b"]
    assert first.__handle__.hash != Ledger("ledger", "ledger.db").__handle__.hash
    ran.clear()
    assert scheduler.run(ledger(["a", "b"])).__handle__.hash == first.__handle__.hash
    assert not ran
    longer = scheduler.run(ledger(["a", "b", "c"]))  # only the new step runs
    assert ran == {"ledger": 1, "add c": 1}
    assert rows("ledger.db") == ["a", "b", "c"]
    ran.clear()
    scheduler.run(ledger(["a", "x", "c"]))  # every step after the change runs again
    assert ran == {"ledger": 1, "add x": 1, "add c": 1}
    assert longer.__handle__.fullname == "redun_values.ledger"


def test_a_handle_is_rebuilt_from_its_constructor_when_unpickled(workdir: Path) -> None:
    conn = Ledger("ledger", "ledger.db").fork("one")
    copy = pickle.loads(pickle.dumps(conn))
    assert copy.instance is not conn.instance  # a connection of its own
    assert copy.db_file == "ledger.db" and copy.__handle__.hash == conn.__handle__.hash
    assert copy.execute("SELECT 1").fetchall() == [(1,)]


PER_PROCESS = """
import os
from bridge import Handle

class Counter(Handle):
    def __init__(self, name, path):
        self.path = path
        self.opened_in = os.getpid()  # the connection a real handle would open here

@task(executor="procs")
def bump(conn: Counter) -> Counter:
    ran("bump")
    assert conn.opened_in == os.getpid(), "the handle was not rebuilt in this process"
    with open(conn.path, "a") as out:
        out.write("+")
    return conn

@task()
def main() -> Counter:
    return bump(bump(Counter("counter", "counter.txt")))
"""


def test_a_handle_is_rebuilt_in_each_worker_process(workdir: Path) -> None:
    write_workflow(workdir, PER_PROCESS)
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge" / "bridge.ini").write_text(
        "[executors.procs]\ntype = local\nmode = processes\nmax_workers = 1\n")
    result = bridge(workdir, "run", "workflow.py", "main")
    assert ran_tasks(workdir) == ["bump", "bump"]
    assert (workdir / "counter.txt").read_text() == "++"
    assert "Counter(fullname=counter," in result.stdout


@task()
def branch(conn: Ledger, item: str) -> Ledger:
    ran["branch " + item] += 1
    return conn


@task()
def fan_out(items: list) -> Ledger:
    conn = create_table(Ledger("ledger", "ledger.db"))
    return merge_handles([branch(conn.fork(item), item) for item in items])


def test_keyed_forks_cache_apart_and_merge_into_one_state(scheduler: Scheduler) -> None:
    merged = scheduler.run(fan_out(["a", "b"]))
    assert ran == {"create": 1, "branch a": 1, "branch b": 1}
    ran.clear()
    reordered = scheduler.run(fan_out(["b", "a"]))
    assert not ran
    assert reordered.__handle__.hash != merged.__handle__.hash  # merged in another order
    wider = scheduler.run(fan_out(["a", "b", "c"]))
    assert ran == {"branch c": 1}
    assert isinstance(wider, Ledger) and wider.__handle__.fullname == merged.__handle__.fullname


# -- workflows in the spirit of redun's examples, run as a user runs them ---------------


def copy_style(name: str, workdir: Path) -> Path:
    shutil.copytree(STYLE / name, workdir, dirs_exist_ok=True)
    return workdir


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_etl_style_database_handle(workdir: Path) -> None:
    copy_style("etl", workdir)
    (workdir / "stock.csv").write_text("item,count\napples,3\npears,4\n")
    first = bridge(workdir, "run", "workflow.py", "main")
    assert "'total': 7" in first.stdout and "fullname=redun_style.etl.inventory" in first.stdout
    assert ran_tasks(workdir) == ["create_tables", "load_stock", "main", "total_stock"]
    assert bridge(workdir, "run", "workflow.py", "main").stdout == first.stdout
    assert ran_tasks(workdir) == []
    (workdir / "stock.csv").write_text("item,count\napples,3\npears,10\n")
    changed = bridge(workdir, "run", "workflow.py", "main")
    assert "'total': 13" in changed.stdout
    assert changed.stdout != first.stdout  # the handle's state records the new load
    assert ran_tasks(workdir) == ["load_stock", "main", "total_stock"]
    with sqlite3.connect(workdir / "inventory.db") as db:
        assert db.execute("SELECT count FROM stock WHERE item = 'pears'").fetchone() == (10,)


def test_memoization_style_deleted_intermediates_rerun_nothing(workdir: Path) -> None:
    copy_style("memoization", workdir)
    first = bridge(workdir, "run", "workflow.py", "main")
    assert first.stdout.strip() == "'apple=5 kiwi=4 plum=4'"
    assert not list((workdir / "lengths").iterdir())  # the intermediates were deleted
    ran_tasks(workdir)
    assert bridge(workdir, "run", "workflow.py", "main").stdout == first.stdout
    assert ran_tasks(workdir) == []
    changed = bridge(workdir, "run", "workflow.py", "main", "--words", "apple,fig")
    assert changed.stdout.strip() == "'apple=5 fig=3'"
    assert ran_tasks(workdir) == ["delete_files", "lengths", "list_words", "main", "summarize",
                                  "word_file:apple", "word_file:fig"]


def test_allele_freq_style_recursive_merge(workdir: Path) -> None:
    copy_style("allele_freq", workdir)
    bridge(workdir, "run", "workflow.py", "main")
    assert ran_tasks(workdir) == ["frequencies", "merge_pair:0-1", "merge_pair:0-3",
                                  "merge_pair:2-3", *(f"sim_sample:{i}" for i in range(4))]
    table = (workdir / "computed" / "frequencies.tsv").read_text()
    assert table and all(float(line.split()[1]) in (0.25, 0.5, 0.75, 1.0)
                         for line in table.splitlines())
    bridge(workdir, "run", "workflow.py", "main")
    assert ran_tasks(workdir) == []
    edit(workdir / "workflow.py", '{freq:.2f}', '{freq:.3f}')
    bridge(workdir, "run", "workflow.py", "main", "--nsamples", "5")  # merged into 0-3
    assert ran_tasks(workdir) == ["frequencies", "merge_pair:0-4", "sim_sample:4"]
    assert "0.200" in (workdir / "computed" / "frequencies.tsv").read_text()


def test_custom_values_style_model_from_the_command_line(workdir: Path) -> None:
    copy_style("custom_values", workdir)
    alice = '{"id": 10, "name": "Alice"}'
    first = bridge(workdir, "run", "workflow.py", "main", "--member", alice)
    assert first.stdout.strip() == "'Hello, Alice. Your id is 10'"
    assert ran_tasks(workdir) == ["main"]
    noted = '{"id": 10, "name": "Alice", "note": "met at the conference"}'
    assert bridge(workdir, "run", "workflow.py", "main", "--member", noted).stdout == first.stdout
    assert ran_tasks(workdir) == []  # its hash leaves the note out
    edit(workdir / "workflow.py", 'f"Hello, {member.name}.', 'f"Hi, {member.name}.')
    bob = bridge(workdir, "run", "workflow.py", "main", "--member", '{"id": 11, "name": "Bob"}')
    assert bob.stdout.strip() == "'Hi, Bob. Your id is 11'"
    assert ran_tasks(workdir) == ["main"]
    bad = invoke("run", "workflow.py", "main", "--member", '{"id": "ten"}')
    assert_user_error(bad, "--member", "Member", "id")
