"""An Enum argument from the command line: `bridge run workflow.py main --shape circle`
(a member's name), `--shape Shape.circle` (as redun prints it) or `--shape c` (its
value)."""

from enum import Enum

from bridge import task

redun_namespace = "redun_style.enum"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


class Shape(Enum):
    circle = "c"
    square = "s"
    triangle = 3


@task()
def corners(shape: Shape) -> int:
    ran("corners")
    return {Shape.circle: 0, Shape.square: 4, Shape.triangle: 3}[shape]


@task()
def describe(shape: Shape, count: int) -> str:
    ran("describe")
    return f"a {shape.name} has {count} corners"


@task()
def main(shape: Shape = Shape.square) -> str:
    """Describe a shape."""
    ran("main")
    return describe(shape, corners(shape))
