"""An inventory database kept in step with a CSV of stock counts. The connection is a
Handle passed from task to task: the steps run in order, each opens the database again
in whatever process runs it, and each replays only while the database's state (the
chain of calls that made it) is the same."""

import csv
import os
import sqlite3

from bridge import File, Handle, task

bridge_namespace = "redun_style.etl"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


class Inventory(Handle):
    def __init__(self, name: str, db_path: str) -> None:
        self.db_path = db_path
        # Attributes the handle lacks (execute, commit) are looked up on `instance`.
        self.instance = sqlite3.connect(db_path, check_same_thread=False)

    def is_valid(self) -> bool:
        return os.path.exists(self.db_path) and super().is_valid()


@task()
def create_tables(db: Inventory) -> Inventory:
    ran("create_tables")
    db.execute("CREATE TABLE IF NOT EXISTS stock (item TEXT PRIMARY KEY, count INTEGER)")
    db.commit()
    return db


@task()
def load_stock(db: Inventory, counts: File) -> Inventory:
    ran("load_stock")
    db.execute("DELETE FROM stock")
    with counts.open() as lines:
        for row in csv.DictReader(lines):
            db.execute("INSERT INTO stock VALUES (?, ?)", (row["item"], int(row["count"])))
    db.commit()
    return db


@task()
def total_stock(db: Inventory) -> int:
    ran("total_stock")
    return db.execute("SELECT SUM(count) FROM stock").fetchone()[0]


@task()
def main(counts_csv: str = "stock.csv", db_path: str = "inventory.db") -> dict:
    ran("main")
    db = Inventory("inventory", db_path)
    db = create_tables(db)
    db = load_stock(db, File(counts_csv))
    return {"total": total_stock(db), "db": db}
