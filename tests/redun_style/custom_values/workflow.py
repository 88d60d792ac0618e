"""A pydantic model given on the command line as JSON: a ProxyValue says how to parse
it, and how it hashes (by id and name; the free-text note does not change the greeting)."""

import hashlib
import json

from pydantic import BaseModel

from bridge import task
from bridge.value import ProxyValue

bridge_namespace = "redun_style.custom_values"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


class Member(BaseModel):
    id: int
    name: str = "Jane Doe"
    note: str = ""


class MemberValue(ProxyValue):
    type = Member
    type_name = "redun_style.custom_values.Member"

    def parse_arg(self, arg: str) -> Member:
        # Called on the class, as redun does: `self` is the raw type.
        return Member.model_validate_json(arg)

    def get_hash(self, data: bytes | None = None) -> str:
        key = json.dumps({"id": self.instance.id, "name": self.instance.name})
        return hashlib.sha1(key.encode()).hexdigest()


@task()
def main(member: Member) -> str:
    ran("main")
    return f"Hello, {member.name}. Your id is {member.id}"
