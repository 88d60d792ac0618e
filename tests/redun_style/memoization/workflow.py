"""Map words to intermediate files, reduce them to one summary, then delete the
intermediate files. The reducing task checks only its own result (check_valid="shallow"),
so deleting the intermediate files does not make it run again; a changed word does."""

from bridge import File, seq, task

bridge_namespace = "redun_style.memoization"


def ran(name: str) -> None:
    with open("ran.log", "a") as log:
        log.write(name + "\n")


@task()
def list_words(words: str) -> list:
    ran("list_words")
    return words.split(",")


@task()
def word_file(word: str) -> File:
    ran("word_file:" + word)
    out = File(f"lengths/{word}.txt")
    out.write(f"{word}={len(word)}")
    return out


@task()
def summarize(files: list) -> str:
    ran("summarize")
    return " ".join(f.read() for f in files)


@task()
def delete_files(files: list) -> None:
    ran("delete_files")
    for f in files:
        f.remove()


@task(check_valid="shallow")
def lengths(words: list) -> str:
    ran("lengths")
    files = [word_file(word) for word in words]
    # The summary is made before the files are deleted.
    return seq([summarize(files), delete_files(files)])[0]


@task()
def main(words: str = "apple,kiwi,plum") -> str:
    ran("main")
    return lengths(list_words(words))
