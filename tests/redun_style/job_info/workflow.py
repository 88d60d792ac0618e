"""A task reading its own job's context (JobInfo) to name its output folder."""

from ranlog import ran

from bridge import File, task
from bridge.scheduler import JobInfo

redun_namespace = "redun_style.job_info"


@task()
def write_sum(a: int, b: int, job_info: JobInfo = JobInfo()) -> dict:
    ran("write_sum")
    total = a + b
    File(f"outputs/{job_info.eval_hash}/sum.txt").write(str(total))
    return {"total": total, "execution_id": job_info.execution_id,
            "eval_hash": job_info.eval_hash}


@task()
def main(x: int = 1) -> dict:
    ran("main")
    return write_sum(x, 4)
