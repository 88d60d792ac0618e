"""What a Batch job is made of: the options calls must agree on to share an array job,
the command that runs them, and the SubmitJob request."""

from __future__ import annotations

from typing import Any

from bridge.native.executors.base import Work

# Runs a script() call with no bridge in the image: $1 is the call's folder, or with
# $2 = array the array's manifest, from which this child picks its folder.
SCRIPT_BOOT = r"""
call="$1"
if [ "${2:-}" = array ]; then
    index="${AWS_BATCH_JOB_ARRAY_INDEX:-${AWS_BATCH_JOB_ID##*:}}"
    call="$(aws s3 cp --only-show-errors "$1" - | python3 -c \
        'import json, sys; print(json.load(sys.stdin)["calls"][int(sys.argv[1])])' "$index")"
fi
dir="$(mktemp -d)"
mkdir "$dir/work"
cd "$dir/work"
aws s3 cp --only-show-errors "$call/script.sh" "$dir/script.sh"
bash -euo pipefail "$dir/script.sh" > "$dir/stdout"
aws s3 cp --only-show-errors "$dir/stdout" "$call/stdout"
"""


def job_options(defaults: dict[str, Any], work: Work) -> dict[str, Any]:
    """The job's make-up: the executor's options with the task's on top. Calls that agree
    on all of it share an array job."""
    merged = {**defaults, **work.options}
    return {
        "task": work.task.fullname, "script": work.is_script, "image": merged["image"],
        "queue": merged["queue"], "role": merged.get("job_role") or merged.get("role"),
        "vcpus": float(merged.get("vcpus", 1)), "memory": float(merged.get("memory", 4)),
        "gpus": int(merged.get("gpus", 0)), "timeout": merged.get("timeout"),
    }


def command(script: bool, target: str, array: bool) -> list[str]:
    """The job's command: ``target`` is the call's folder, or an array's manifest."""
    if script:
        return ["bash", "-euo", "pipefail", "-c", SCRIPT_BOOT, "bridge-job", target,
                *(["array"] if array else [])]
    return ["bridge", "oneshot", *(["--array"] if array else []), target]


def submit_request(name: str, options: dict[str, Any], defaults: dict[str, Any], *,
                   definition: str, environment: list[dict[str, str]], command: list[str],
                   size: int) -> dict[str, Any]:
    """The SubmitJob request for ``size`` calls (an array job when more than one)."""
    request: dict[str, Any] = {
        "jobName": name,
        "jobQueue": options["queue"],
        "jobDefinition": definition,
        "containerOverrides": {"command": command, "environment": environment,
                               "resourceRequirements": resources(options)},
        "retryStrategy": {"attempts": int(defaults.get("retries", 1)),
                          "evaluateOnExit": [{"onExitCode": "1", "action": "EXIT"},
                                             {"onReason": "*", "action": "RETRY"}]},
        "propagateTags": True,
    }
    if defaults.get("tags"):
        request["tags"] = dict(defaults["tags"])
    if options["timeout"]:
        request["timeout"] = {"attemptDurationSeconds": max(60, int(options["timeout"]))}
    if size > 1:
        request["arrayProperties"] = {"size": size}
    return request


def resources(options: dict[str, Any]) -> list[dict[str, str]]:
    vcpus = options["vcpus"]
    found = [
        {"type": "VCPU", "value": str(int(vcpus)) if vcpus == int(vcpus) else str(vcpus)},
        {"type": "MEMORY", "value": str(int(options["memory"] * 1024))},
    ]
    if options["gpus"]:
        found.append({"type": "GPU", "value": str(options["gpus"])})
    return found
