"""Counting favourite fruits with shell scripts, in the spirit of redun's script example.

    bridge run workflow.py main
"""

import os

from bridge import File, script, task

redun_namespace = "redun_style.script"


@task()
def list_fruits(table: File) -> list:
    """The fruits named in the table's third column."""
    with table.open() as rows:
        return sorted({line.rstrip("\n").split("\t")[2] for line in rows if line.strip()})


@task()
def count_lines(text: str) -> int:
    return len(text.splitlines())


@task()
def count_fruit(table: File, fruit: str) -> int:
    """A list-form command: each word is quoted for the shell. The script runs in the
    working folder, so the table's relative path works as is."""
    rows = script(["awk", "-F", "\t", f'$3 == "{fruit}"', table.path], inputs=[table])
    return count_lines(rows)


@task()
def count_all(table: File, fruits: list) -> dict:
    return {fruit: count_fruit(table, fruit) for fruit in fruits}


@task()
def tally_by_script(table: File, out_path: str) -> dict:
    """A multi-line script in a scratch folder: the table is staged in, the tally and a
    log are staged out; the intermediate file stays behind in the scratch folder."""
    out = File(os.path.abspath(out_path))
    log = File(os.path.abspath(out_path) + ".log")
    return script(
        """
        echo 'sorting' >> notes.log
        cut -f3 table.tsv | sort > fruits.sorted
        echo 'counting' >> notes.log
        uniq -c fruits.sorted | sort -k1,1nr -k2,2 | awk '{print $2, $1}' > tally.txt
        """,
        tempdir=True,
        inputs=[File(os.path.abspath(table.path)).stage("table.tsv")],
        outputs={"tally": out.stage("tally.txt"), "log": log.stage("notes.log")},
    )


TABLE = File("fruits.tsv")


@task()
def main(table: File = TABLE) -> dict:
    counts = count_all(table, list_fruits(table))
    return {"counts": counts, "tally": tally_by_script(table, "tally.txt")}
