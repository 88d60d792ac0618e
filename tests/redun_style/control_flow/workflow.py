"""Control flow as redun users write it: catch with a partial recovery task, seq for
order, cond on a lazy predicate (only the branch taken runs)."""

from ranlog import ran

from bridge import catch, cond, task
from bridge.functools import seq

redun_namespace = "redun_style.control_flow"


@task()
def ratio(a: float, b: float) -> float:
    ran("ratio")
    return a / b


@task()
def fallback(error: Exception, value: float) -> float:
    ran("fallback")
    return value


@task()
def safe_ratios(pairs: list) -> list:
    ran("safe_ratios")
    recover = fallback.partial(value=-1.0)
    return [catch(ratio(a, b), ZeroDivisionError, recover) for a, b in pairs]


@task()
def fail(message: str) -> str:
    ran("fail")
    raise ValueError(message)


@task()
def explain(error: Exception) -> str:
    ran("explain")
    return f"rescued: {type(error).__name__}"


@task()
def rescued() -> str:
    ran("rescued")
    return catch(fail("no"), ValueError, explain)


@task()
def say(word: str) -> str:
    ran("say")
    with open("said.log", "a") as said:
        said.write(word)
    return word


@task()
def is_big(n: int) -> bool:
    ran("is_big")
    return n > 3


@task()
def big_label() -> str:
    ran("big_label")
    return "big"


@task()
def small_label() -> str:
    ran("small_label")
    return "small"


@task()
def main(n: int = 5) -> dict:
    ran("main")
    return {
        "ratios": safe_ratios([(4, 2), (1, 0)]),
        "rescued": rescued(),
        "in_order": seq([say("a"), say("b"), say("c")]),
        "bigger": cond(is_big(n), big_label(), small_label()),
    }
