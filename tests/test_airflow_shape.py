"""The shape of an exported DAG, read from a real store: positions from a recorded call
tree (also through a fully cached execution), nested fan-outs flattened, built-in calls
kept with their caller, and edges from the recorded dataflow. No Airflow needed."""

from __future__ import annotations

from bridge.adapters.airflow.export import is_builtin
from bridge.adapters.airflow.shape import Position, shape_of
from bridge.loading import load_workflow
from bridge.native.calltree import find_execution_of, read_call_tree
from workflows import write_workflow

# A namespace of its own: the workflow loads into this process's task registry, where a
# bare `main` would shadow other tests' workflows.
WORKFLOW = """
from bridge import script

bridge_namespace = "airflow_shape"

@task()
def lanes(sample: str) -> list:
    return [f"{sample}-{lane}" for lane in range(3)]

@task()
def trim(lane: str) -> str:
    return lane.upper()

@task()
def trim_lanes(names: list) -> list:
    return [trim(name) for name in names]

@task()
def trim_sample(sample: str) -> list:
    return trim_lanes(lanes(sample))

@task()
def count(trimmed: list) -> int:
    return len(trimmed)

@task()
def report(n: int) -> str:
    return script(f"echo {n}", outputs=File("-"))

@task()
def main(samples: list) -> dict:
    trimmed = [trim_sample(sample) for sample in samples]
    return {"trimmed": trimmed, "report": report(count(trimmed))}
"""


def by_path(position: Position, prefix: tuple = ()) -> dict[tuple, Position]:
    path = (*prefix, position.node_id)
    found = {path: position}
    for child in position.children:
        found.update(by_path(child, path))
    return found


def test_positions_flatten_fan_outs_and_follow_the_dataflow(scheduler, workdir):
    module = load_workflow(str(write_workflow(workdir, WORKFLOW)))
    scheduler.run(module.main(["a", "b"]))
    again_id = "cached-run"
    scheduler.run(module.main(["a", "b"]), execution_id=again_id)  # one CACHED job

    for execution in (find_execution_of(scheduler.store, _root_hash(scheduler, module)),
                      again_id):
        shape = shape_of(read_call_tree(scheduler.store, execution), is_builtin)
        positions = by_path(shape)
        assert sorted(positions) == [
            ("main",), ("main", "count"), ("main", "report"), ("main", "trim_sample"),
            ("main", "trim_sample", "lanes"), ("main", "trim_sample", "trim_lanes"),
            ("main", "trim_sample", "trim_lanes", "trim")]
        # two samples of three lanes: one 6-wide position
        assert positions[("main", "trim_sample", "trim_lanes", "trim")].width == 6
        assert positions[("main", "report")].children == []  # script() stays in report
        assert positions[("main", "count")].after == ["airflow_shape.trim_sample"]
        # report after count only: count after trim_sample implies the rest
        assert positions[("main", "report")].after == ["airflow_shape.count"]
        assert positions[("main", "trim_sample", "trim_lanes")].after == ["airflow_shape.lanes"]


def _root_hash(scheduler, module) -> str:
    from bridge.native.calling import identify_call

    return identify_call(module.main, None, (["a", "b"],), {}).call_hash
