"""Suppressing provenance (in the spirit of redun's no_prov example): a fine-grained
scoring step whose many small calls are not worth recording."""

from bridge import task
from bridge.functools import no_prov

bridge_namespace = "redun_style.no_prov"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


@task()
def score(word: str) -> int:
    ran("score")
    return sum(ord(letter) - 96 for letter in word)


@task()
def total(words: list) -> int:
    ran("total")
    return sum(words)


@task()
def score_all(words: list) -> int:
    ran("score_all")
    return total([score(word) for word in words])


@task(prov=False)
def score_all_unrecorded(words: list) -> int:
    ran("score_all_unrecorded")
    return total([score(word) for word in words])


@task()
def main(words: tuple = ("bridge", "redun")) -> dict:
    ran("main")
    return {
        "recorded": score_all(words),
        "task_option": score_all_unrecorded(words),
        "call_option": score_all.options(prov=False)([*words, "x"]),
        "wrapped": no_prov(total([score(word) for word in words]) + 1),
    }
