"""Building two C programs that share a source file, in the spirit of redun's compile
example: each object file is one cached shell step, so editing one .c file recompiles
only it and relinks only the program that uses it.

    bridge run workflow.py make
"""

from bridge import File, script, task

redun_namespace = "redun_style.compile"

HEADERS = [File("words.h")]


@task()
def compile(c_file: File) -> File:
    """One C file to its object file. The source and headers are the script's inputs, so
    an edit to either makes the script run again."""
    o_path = c_file.path.replace(".c", ".o")
    return script(["gcc", "-c", c_file.path, "-o", o_path],
                  inputs=[c_file, *HEADERS], outputs=File(o_path))


@task()
def link(prog_path: str, o_files: list) -> File:
    return script(["gcc", "-o", prog_path, *o_files], inputs=o_files, outputs=File(prog_path))


@task()
def make_prog(prog_path: str, c_files: list) -> File:
    return link(prog_path, [compile(c_file) for c_file in c_files])


programs = {
    "hello": [File("hello.c"), File("words.c")],
    "shout": [File("shout.c"), File("words.c")],
}


@task()
def make(programs: dict = programs) -> list:
    """Build every program."""
    return [make_prog(path, c_files) for path, c_files in programs.items()]
