"""What redun's config keys (``.redun/redun.ini``) become in bridge.ini: one table, read
both by ``bridge init --from-redun`` (the conversion) and by bridge.ini's validation (a
redun key written in bridge.ini gets a hint, not a bare "unknown key")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class RedunConfigError(Exception):
    """The redun.ini to convert cannot be parsed."""


@dataclass(frozen=True)
class Key:
    """A redun key: the bridge key it converts to (``to``), or what bridge does instead."""

    to: str | None = None
    instead: str = ""


def _same(*names: str) -> dict[str, Key]:
    return {name: Key(to=name) for name in names}


# By section kind: "backend", "scheduler", or an executor type.
KEYS: dict[str, dict[str, Key]] = {
    "backend": {
        "value_store_min_size": Key(to="inline_limit"),
        "value_store_path": Key(instead="bridge cannot read redun's value files; bridge "
                                "keeps its own beside its database (value_store sets where)"),
        "automigrate": Key(instead="bridge creates its schema on first use; "
                           "`bridge db upgrade` upgrades it"),
        **dict.fromkeys(("db_aws_secret_name", "db_username_env", "db_password_env"),
                        Key(instead="give the full URI in db_uri or BRIDGE_DB_URI")),
        **dict.fromkeys(("db_retries", "db_retries_backoff", "db_retries_backoff_max"),
                        Key(instead="bridge does not retry database operations")),
        "max_value_size": Key(instead="bridge has no size cap on a value"),
    },
    "scheduler": {
        **_same("setup_scheduler"),
        "job_status_interval": Key(instead="the status table's interval is the "
                                   "BRIDGE_STATUS_INTERVAL environment variable (seconds)"),
        "ignore_warnings": Key(instead="bridge has no warnings to silence"),
        "boto_config": Key(instead="boto3 reads its own settings (AWS_MAX_ATTEMPTS, "
                           "AWS_RETRY_MODE, ~/.aws/config)"),
        "federated_configs": Key(instead="bridge has no federated tasks"),
    },
    "local": {
        **_same("mode", "max_workers"),
        "start_method": Key(instead="bridge's process pool uses Python's default start "
                            "method"),
    },
    "docker": {
        **_same("image", "scratch", "vcpus", "gpus", "memory"),
        "interactive": Key(instead="bridge shows a container's output when it fails and "
                           "in `bridge log`"),
        "volumes": Key(instead="bridge mounts the scratch folder and the code only"),
    },
    "aws_batch": {
        **_same("image", "queue", "s3_scratch", "role", "vcpus", "gpus", "memory", "retries",
                "job_name_prefix", "timeout"),
        "aws_region": Key(to="region"),
        "batch_tags": Key(to="tags"),
        "debug": Key(instead="to run a Batch task's container on this machine, point the "
                     "task at a docker executor (bridge run -o executor=NAME)"),
        "job_monitor_interval": Key(to="poll_interval"),
        **dict.fromkeys(("code_package", "code_includes", "code_excludes"),
                        Key(instead="bridge ships the workflow's code with every job")),
        **dict.fromkeys(("min_array_size", "max_array_size"),
                        Key(instead="bridge submits one Batch job per call (no array jobs)")),
        **dict.fromkeys(("job_def_name", "autocreate_job_def", "job_def_extra", "privileged"),
                        Key(instead="bridge manages its job definitions")),
        "num_nodes": Key(instead="bridge has no multi-node Batch jobs"),
        "job_stale_time": Key(instead="bridge polls its jobs until they end"),
        "default_batch_tags": Key(instead="bridge tags its Batch jobs with its own ids"),
    },
}

# redun's mode values are singular.
MODES = {"thread": "threads", "process": "processes"}

SECTIONS = {
    "repos": "bridge has no repositories: point --config or BRIDGE_CONFIG at the other "
             "project's config folder",
    "tags": "tag an execution with `bridge run --tag KEY=VALUE`",
    "federated_tasks": "bridge has no federated tasks",
}


def hint(kind: str, key: str) -> str | None:
    """What to write instead of redun's ``key`` in a section of ``kind``; None when it is
    not a redun key."""
    found = KEYS.get(kind, {}).get(key)
    if found is None:
        found = next((keys[key] for keys in KEYS.values() if key in keys), None)
    if found is None:
        return None
    if found.to is not None and found.to != key:
        return f"redun's name for {found.to}: write {found.to} = ..."
    return f"a redun key: {found.instead}" if found.instead else None


def section_hint(section: str) -> str | None:
    """What bridge does instead of a redun-only section (``[repos]``, ``[tags]``...)."""
    return SECTIONS.get(section.split(".", 1)[0])


@dataclass
class Conversion:
    """A redun.ini turned into bridge.ini's sections, and what was left out and why."""

    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)

    def ini_text(self, source: Path) -> str:
        lines = [f"# Converted from {source} by `bridge init --from-redun`."]
        if self.left_out:
            lines.append("# Not converted:")
            lines += [f"#   {item}" for item in self.left_out]
        for section, values in self.sections.items():
            lines += ["", f"[{section}]", *(f"{key} = {value}" for key, value in values.items())]
        return "\n".join(lines) + "\n"


def convert(path: Path, known_sections: set[str]) -> Conversion:
    """``path`` (a redun.ini) as bridge.ini sections. ``known_sections`` are bridge.ini's
    sections that take redun's keys as they are (``limits``, ...)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#",))
    try:
        parser.read(path)
    except configparser.Error as error:
        raise RedunConfigError(f"{path}: cannot parse: {str(error).splitlines()[0]}") from None
    result = Conversion()
    for section in parser.sections():
        values = dict(parser[section])
        if section.startswith("executors."):
            _convert_executor(section, values, result)
        elif section in ("backend", "scheduler"):
            _convert_keys(section, section, values, result)
        elif section in known_sections:
            result.sections[section] = values
        else:
            reason = section_hint(section) or "bridge has no such section"
            result.left_out.append(f"[{section}]: {reason}")
    return result


def _convert_executor(section: str, values: dict[str, str], result: Conversion) -> None:
    kind = values.pop("type", "local")
    if kind not in KEYS:
        result.left_out.append(f"[{section}]: bridge has no {kind} executor (its types: "
                               "local, docker, aws_batch, slurm)")
        return
    if "mode" in values:
        values["mode"] = MODES.get(values["mode"], values["mode"])
    if "batch_tags" in values:
        values["batch_tags"] = _tags_text(values["batch_tags"])
    _convert_keys(section, kind, {"type": kind, **values}, result)


def _convert_keys(section: str, kind: str, values: dict[str, str], result: Conversion) -> None:
    converted: dict[str, str] = {}
    for key, value in values.items():
        if key == "type":
            converted[key] = value
        elif key == "db_uri":
            result.left_out.append(
                f"[{section}] db_uri = {value}: redun's database has redun's schema, which "
                "bridge does not read; bridge starts its own (.bridge/bridge.db, or set "
                "db_uri to a new database)")
        else:
            found = KEYS.get(kind, {}).get(key)
            if found is not None and found.to is not None:
                converted[found.to] = value
            else:
                reason = found.instead if found is not None else "bridge has no such key"
                result.left_out.append(f"[{section}] {key}: {reason}")
    if converted:
        result.sections[section] = converted


def _tags_text(text: str) -> str:
    """redun's batch_tags (a JSON object) as bridge's ``key=value, ...``."""
    try:
        tags = json.loads(text)
    except ValueError:
        return text
    return ", ".join(f"{key}={value}" for key, value in tags.items())
