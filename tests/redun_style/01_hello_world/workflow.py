"""A first workflow, run as `bridge run workflow.py main [--salutation Hi]`: a greeting
built by one task from what two others return."""

from bridge import task

redun_namespace = "redun_style.hello"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


@task()
def pick_name() -> str:
    ran("pick_name")
    return "Bridge"


@task()
def compose(salutation: str, name: str) -> str:
    ran("compose")
    return f"{salutation}, {name}!"


@task()
def main(salutation: str = "Hello") -> str:
    """Greet by name."""
    ran("main")
    return compose(salutation, pick_name())
