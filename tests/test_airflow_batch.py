"""A Batch position of an exported DAG runs as Airflow's BatchOperator against a real
moto server, whose Batch runs each job's container on the tests' Docker engine; the
job's input and output files are on moto's S3. Nothing is mocked."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

import airflow_helpers
from airflow_helpers import bridge_result, dag_test, export, states
from docker_engine import (  # noqa: F401
    base_image,
    batch_jobs,
    batch_queue,
    docker_engine,
    worker_image,
)
from workflows import write_workflow

airflow_home = airflow_helpers.airflow_home  # the session's migrated AIRFLOW_HOME

WORKFLOW = """
@task(executor="batch")
def shout(text: File, out: str) -> File:
    result = File(out)
    result.write(text.read().upper())
    return result

@task()
def main(bucket: str, n: int = 2) -> list:
    return [shout(File(f"s3://{bucket}/in/{i}.txt"), f"s3://{bucket}/out/{i}.txt")
            for i in range(n)]
"""


@pytest.fixture
def batch_project(workdir, batch_queue, worker_image):  # noqa: F811
    """The workflow, its inputs on S3, and a bridge.ini whose `batch` executor submits to
    the moto queue under a prefix of this test's own."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    bucket = batch_queue["bucket"]
    write_workflow(workdir, WORKFLOW)
    s3 = boto3.client("s3")
    for i in range(2):
        s3.put_object(Bucket=bucket, Key=f"in/{i}.txt", Body=f"sample {i}\n".encode())
    (workdir / ".bridge").mkdir()
    (workdir / ".bridge/bridge.ini").write_text(
        f"[executors.batch]\ntype = aws_batch\nimage = {worker_image}\n"
        f"queue = {batch_queue['queue']}\ns3_scratch = s3://{bucket}/{prefix}\n"
        f"job_name_prefix = {prefix}\npoll_interval = 0.5\n"
        "pass_aws_credentials = true\n")  # moto has no job roles to give them
    return {"folder": workdir, "bucket": bucket, "prefix": prefix, "queue": batch_queue}


def test_a_batch_position_runs_as_batch_operator_jobs(batch_project, airflow_home,
                                                      moto_server):
    folder, bucket, prefix = (batch_project[k] for k in ("folder", "bucket", "prefix"))
    dag = export(folder, "-o", "dags/shout.py", "workflow.py", "main", "--bucket", bucket)
    assert "BatchOperator.partial" in dag.read_text()
    recorded = len(batch_jobs(batch_project["queue"], prefix))  # the export's own run
    (folder / ".bridge/bridge.db").unlink()  # the DAG computes from scratch
    boto3.client("s3").delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": f"out/{i}.txt"} for i in range(2)]})

    connection = {"conn_type": "aws", "login": "testing", "password": "testing",
                  "extra": {"region_name": "us-east-1", "endpoint_url": moto_server}}
    run, output = dag_test(airflow_home, dag, AIRFLOW_CONN_AWS_DEFAULT=json.dumps(connection),
                           BRIDGE_TEST_BATCH_DELAY="0.5")
    assert run["state"] == "success", output[-3000:]
    found = states(run)
    assert found[("main.shout", 0)] == found[("main.shout", 1)] == "success"
    assert found[("main.shout_jobs", -1)] == found[("main.shout_record", -1)] == "success"
    submitted = batch_jobs(batch_project["queue"], prefix)
    assert len(submitted) == recorded + 2  # one BatchOperator job per call
    s3 = boto3.client("s3")
    assert s3.get_object(Bucket=bucket, Key="out/1.txt")["Body"].read() == b"SAMPLE 1\n"

    printed = bridge_result(folder, "workflow.py", "main", "--bucket", bucket)
    assert f"s3://{bucket}/out/0.txt" in printed
    assert len(batch_jobs(batch_project["queue"], prefix)) == recorded + 2  # all cached
