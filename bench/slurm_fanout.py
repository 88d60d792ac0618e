"""bench_slurm.py's fan-out on bridge: n script() calls on the slurm executor named
``cluster``, each writing a tiny file, gathered by a parent. Parallel to slurm_fanout.smk."""

from bridge import File, script, task

bridge_namespace = "bench_slurm"


@task()
def gather(files: list) -> int:
    return len(files)


@task()
def main(n: int = 1000) -> int:
    return gather([script(f"mkdir -p out && echo {i} > out/{i}.txt",
                          outputs=File(f"out/{i}.txt"), executor="cluster")
                   for i in range(n)])
