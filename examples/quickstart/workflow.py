"""A small workflow: count words in generated documents, in parallel, cached.

    bridge run workflow.py main --n 20
"""

from bridge import File, task

bridge_namespace = "quickstart"


@task()
def write_document(index: int, out_dir: str) -> File:
    """Write a small text document (a stand-in for real input data)."""
    words = " ".join(f"word{(index * 7 + i) % 13}" for i in range(10 + index))
    return File(f"{out_dir}/doc{index:03d}.txt").write(words + "\n")


@task()
def count_words(document: File) -> dict:
    """Count the words of one document."""
    counts: dict[str, int] = {}
    for word in document.read().split():
        counts[word] = counts.get(word, 0) + 1
    return counts


@task()
def merge_counts(counts: list) -> dict:
    """Add up per-document counts."""
    total: dict[str, int] = {}
    for one in counts:
        for word, n in one.items():
            total[word] = total.get(word, 0) + n
    return dict(sorted(total.items(), key=lambda item: -item[1])[:5])


@task()
def main(n: int = 10, out_dir: str = "docs") -> dict:
    """Write n documents, count their words in parallel, and merge the counts."""
    documents = [write_document(i, out_dir) for i in range(n)]
    return merge_counts([count_words(doc) for doc in documents])
