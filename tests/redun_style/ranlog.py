"""How the tests see which task bodies ran: each appends its name to ran.log (copied
beside each workflow by the tests)."""


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")
