"""Tags on tasks, calls, values and the execution (in the spirit of redun's tags example)."""

from bridge import apply_tags, task

bridge_namespace = "redun_style.tags"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


@task(tags=[("project", "acme"), ("stage", "prep")])
def clean(text: str) -> str:
    ran("clean")
    return text.strip().lower()


@task()
def count_words(text: str) -> int:
    ran("count_words")
    return apply_tags(len(text.split()), [("unit", "words")])


@task()
def main(text: str = "  The Quick Brown Fox  ") -> int:
    ran("main")
    cleaned = clean.options(tags=[("user", "alice")])(text)
    return apply_tags(count_words(cleaned), job_tags=[("report", "weekly")],
                      execution_tags=[("owner", "data-team")])
