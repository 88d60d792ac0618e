"""Context (in the spirit of redun's context example): a tool's settings reach a task deep
in the workflow without passing through the tasks above it."""

from bridge import get_context, task

bridge_namespace = "redun_style.context"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


@task(memory=get_context("trimmer.memory", 1))
def trim(read: str, quality: int = get_context("trimmer.quality", 20),
         adapter: str = get_context("trimmer.adapter")) -> str:
    ran("trim")
    return f"{read}:q{quality}:{adapter}"


@task()
def length(read: str) -> int:
    ran("length")
    return len(read)


@task()
def process(reads: list) -> dict:
    ran("process")
    return {"trimmed": [trim(read) for read in reads], "lengths": [length(r) for r in reads]}


@task()
def main(reads: tuple = ("ACGT", "GGCC")) -> dict:
    ran("main")
    return process(list(reads))
