"""bridge.ini, validated: a mistyped section or key is an error naming it and the file.

Sections: ``[backend]``, ``[scheduler]``, ``[files]``, ``[limits]``, ``[context]`` and
``[executors.NAME]`` with ``type = local | docker | aws_batch | slurm``. The directory comes from
the argument, else ``BRIDGE_CONFIG``, else ``.bridge`` in the working directory;
``BRIDGE_DB_URI`` overrides the database.
"""

from __future__ import annotations

import configparser
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bridge.config_defaults import (
    CONFIG_FILE,
    ConfigError,
    check_db_uri,
    config_folder,
    context_values,
    in_config_dir,
    resolve_sqlite,
    resolve_value_store,
)
from bridge.native.executors import slurm_options
from bridge.native.settings import (
    DEFAULT_DIR,
    ExecutorSettings,
    SchedulerSettings,
    builtin_executors,
)
from bridge.redun_config import MODES, hint, section_hint

__all__ = ["CONFIG_FILE", "Config", "ConfigError", "context_values"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackendConfig(_Section):
    db_uri: str | None = None
    value_store: str | None = None
    inline_limit: int = Field(SchedulerSettings.inline_limit, ge=0)


class FilesConfig(_Section):
    content_hash_limit: int = Field(SchedulerSettings.content_hash_limit, ge=0,
                                    description="bytes; 0: every local file by size and mtime")


class SchedulerConfig(_Section):
    flush_interval: float = Field(SchedulerSettings.flush_interval, gt=0)
    setup_scheduler: str | None = None  # FILE_OR_MODULE::FUNCTION, see scheduler_setup.py
    # redun's spelling of the context: a JSON object, or a JSON file (under [context] wins)
    context: str | None = None
    context_file: str | None = None


class LocalExecutorConfig(_Section):
    type: Literal["local"] = "local"
    mode: Literal["threads", "processes"] = "threads"
    max_workers: int | None = Field(None, ge=1)
    cores: float | None = Field(None, gt=0, description="default: the machine's CPU count")
    memory: float | None = Field(None, gt=0, description="GiB; default: the machine's")

    @field_validator("mode", mode="before")
    @classmethod
    def _redun_mode(cls, mode: Any) -> Any:
        """redun's ``thread`` and ``process`` are bridge's ``threads`` and ``processes``."""
        return MODES.get(mode, mode)


class DockerExecutorConfig(_Section):
    type: Literal["docker"]
    image: str
    memory: float | None = Field(None, gt=0, description="GiB")
    vcpus: float | None = Field(None, gt=0)
    gpus: int | None = Field(None, ge=0)
    scratch: str | None = None
    include_code: bool = True
    network: str | None = None
    max_workers: int | None = Field(None, ge=1)
    pass_aws_credentials: bool = False


class AwsBatchExecutorConfig(_Section):
    type: Literal["aws_batch"]
    image: str
    queue: str
    s3_scratch: str
    role: str | None = None
    job_name_prefix: str = "bridge"
    vcpus: float = Field(1, gt=0)
    memory: float = Field(4, gt=0, description="GiB")
    gpus: int = Field(0, ge=0)
    timeout: int | None = Field(None, gt=0, description="seconds")
    retries: int = Field(1, ge=1)
    tags: dict[str, str] = Field(default_factory=dict)
    script_only: bool = False
    endpoint_url: str | None = None
    region: str | None = None
    poll_interval: float = Field(5.0, gt=0)
    aws_retry_timeout: float = Field(300, gt=0, description="seconds")
    pass_aws_credentials: bool = False


class SlurmExecutorConfig(_Section):
    type: Literal["slurm"]
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str | None = Field(None, description="minutes, or [D-]HH:MM:SS")
    # Defaults of these keys are slurm_options.check_executor's, for bridge.ini and the
    # Python API alike.
    vcpus: int | None = Field(None, gt=0, validation_alias=AliasChoices("vcpus", "cpus"))
    memory: float | None = Field(None, gt=0, description="GiB")
    gres: str | None = None
    constraint: str | None = None
    sbatch_args: str | None = None
    scratch: str | None = None
    poll_interval: float | None = Field(None, gt=0)
    job_name_prefix: str | None = None
    script_only: bool = False
    bridge_command: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_cpus(cls, data: Any) -> Any:
        if isinstance(data, dict) and "cpus" in data and "vcpus" in data:
            raise ValueError(f"cpus and vcpus: {slurm_options.BOTH_CPUS}")
        return data

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return None if value is None else slurm_options.time_limit(value)


ExecutorConfig = Annotated[
    LocalExecutorConfig | DockerExecutorConfig | AwsBatchExecutorConfig | SlurmExecutorConfig,
    Field(discriminator="type"),
]


class Config(_Section):
    """The whole of bridge.ini. ``config_dir`` is where it was read from."""

    config_dir: str = DEFAULT_DIR
    backend: BackendConfig = Field(default_factory=BackendConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    files: FilesConfig = Field(default_factory=FilesConfig)
    limits: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    executors: dict[str, ExecutorConfig] = Field(default_factory=dict)

    def __init__(self, config_dict: dict[str, Any] | None = None, /, **data: Any) -> None:
        """``Config({"scheduler": {...}})`` as redun users write it (with bridge.ini's
        section names as keys, ``"executors.default"`` among them), or keywords; a
        mistake in the dict is a ConfigError that names the section and the key."""
        if config_dict is None:  # keywords, as pydantic's own validation (load) passes them
            super().__init__(**data)
            return
        try:
            super().__init__(**_nested_sections({**config_dict, **data}))
        except ValidationError as error:
            raise ConfigError(_describe(error, "Config(...)")) from None

    @classmethod
    def load(cls, config_dir: str | os.PathLike | None = None) -> Config:
        """Read ``<dir>/bridge.ini`` (defaults when there is none)."""
        directory = config_folder(config_dir)
        path = directory / CONFIG_FILE
        data: dict[str, Any] = {"config_dir": str(directory)}
        if path.exists():
            data.update(_read_ini(path))
        try:
            config = cls.model_validate(data)
        except ValidationError as error:
            raise ConfigError(_describe(error, path)) from None
        config._check_db_uri(path)
        try:
            config._context()  # a bad context is an error now, naming the file
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
        return config

    def _check_db_uri(self, path: Path) -> None:
        """A store URI bridge cannot open is an error naming where it came from."""
        from_env = os.environ.get("BRIDGE_DB_URI")
        db_uri = from_env or self.backend.db_uri
        if db_uri:
            check_db_uri(db_uri, "BRIDGE_DB_URI" if from_env else f"{path}: [backend] db_uri")

    def to_settings(self) -> SchedulerSettings:
        executors = builtin_executors() | {
            name: ExecutorSettings(
                type=executor.type,
                options=executor.model_dump(exclude={"type"}, exclude_none=True),
            )
            for name, executor in self.executors.items()
        }
        db_uri = os.environ.get("BRIDGE_DB_URI") or self.backend.db_uri
        return SchedulerSettings(
            db_uri=resolve_sqlite(db_uri, self.config_dir) if db_uri else None,
            config_dir=self.config_dir,
            value_store=resolve_value_store(self.backend.value_store, self.config_dir),
            inline_limit=self.backend.inline_limit,
            executors=executors,
            limits=dict(self.limits),
            flush_interval=self.scheduler.flush_interval,
            context=self._context(),
            content_hash_limit=self.files.content_hash_limit,
        )

    def _context(self) -> dict[str, Any]:
        """[scheduler] context or context_file (JSON), then [context] over it."""
        from bridge.native.context import merge_contexts

        scheduler = self.scheduler
        if scheduler.context and scheduler.context_file:
            raise ConfigError("[scheduler] context and context_file: give one of them")
        base: Any = {}
        where = "[scheduler] context"
        try:
            if scheduler.context_file:
                where = f"[scheduler] context_file {scheduler.context_file}"
                path = in_config_dir(scheduler.context_file, self.config_dir)
                base = json.loads(Path(path).read_text())
            elif scheduler.context:
                base = json.loads(scheduler.context)
        except (OSError, ValueError) as error:
            raise ConfigError(f"{where}: not a readable JSON object ({error})") from None
        if not isinstance(base, dict):
            raise ConfigError(f"{where}: must be a JSON object, not {type(base).__name__}")
        return merge_contexts(base, self.context)


def _read_ini(path: Path) -> dict[str, Any]:
    # "key = value   # a note" keeps the note out of the value, as the docs write it
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#",))
    try:
        parser.read(path)
    except configparser.DuplicateOptionError as error:
        raise ConfigError(f"{path}: line {error.lineno}: [{error.section}] {error.option} is "
                          "set twice in the section: keep one") from None
    except configparser.DuplicateSectionError as error:
        raise ConfigError(f"{path}: line {error.lineno}: section [{error.section}] appears "
                          "twice: merge its keys into the first") from None
    except configparser.MissingSectionHeaderError as error:
        raise ConfigError(f"{path}: line {error.lineno}: {error.line.strip()!r} comes before "
                          "any [section]: start the file with one, such as [backend]") from None
    except configparser.ParsingError as error:
        import ast  # configparser keeps each bad line as its repr

        lineno, shown = error.errors[0]
        raise ConfigError(f"{path}: line {lineno}: cannot parse "
                          f"{ast.literal_eval(shown).strip()!r}: write key = value, a "
                          "[section] or a # comment") from None
    except configparser.Error as error:
        raise ConfigError(f"{path}: cannot parse: {error}") from None
    data: dict[str, Any] = {"executors": {}}
    for section in parser.sections():
        values = dict(parser[section])
        if section in ("backend", "scheduler", "files", "limits"):
            data[section] = values
        elif section == "context":
            data["context"] = context_values(values.items())
        elif section.startswith("executors."):
            name = section.split(".", 1)[1]
            if "tags" in values:
                values["tags"] = _parse_tags(values["tags"], path, section)
            data["executors"][name] = values
        else:
            redun = section_hint(section)
            raise ConfigError(
                f"{path}: unknown section [{section}]"
                + (f" (a redun section: {redun})" if redun else "")
                + "; known sections: [backend], [scheduler], [files], [limits], [context], "
                "[executors.NAME]"
            )
    return data


def _nested_sections(data: dict[str, Any]) -> dict[str, Any]:
    """Section names as keys (``"executors.gpu": {...}``) nested as the model holds them
    (``"executors": {"gpu": {...}}``)."""
    named = {key: value for key, value in data.items() if key.startswith("executors.")}
    if not named:
        return data
    nested = {key: value for key, value in data.items() if key not in named}
    nested["executors"] = {**(nested.get("executors") or {}),
                           **{key.split(".", 1)[1]: value for key, value in named.items()}}
    return nested


def _parse_tags(text: str, path: Path, section: str) -> dict[str, str]:
    tags = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{path}: [{section}] tags: {item!r} is not key=value")
        tags[key.strip()] = value.strip()
    return tags


def _describe(error: ValidationError, path: Path | str) -> str:
    problems = []
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        kind = location[0] if location else ""
        if location and location[0] == "executors" and len(location) >= 3:
            # drop pydantic's discriminator tag from the location
            kind = location[2]
            location = [location[0], location[1], *location[3:]]
        if len(location) >= 2 and location[0] == "executors":
            section, key = f"executors.{location[1]}", ".".join(location[2:])
        else:
            section, key = (location[0] if location else ""), ".".join(location[1:])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            redun = hint(kind, key)
            message = f"unknown key ({redun})" if redun else "unknown key"
        if item["type"] == "union_tag_invalid":  # an executor type that does not exist
            key = "type"
            message = (f"unknown executor type {item['ctx']['tag']!r}; known types: "
                       f"{item['ctx']['expected_tags']}")
        where = f"[{section}] {key}".strip() if key else f"[{section}]"
        problems.append(f"{where}: {message}")
    return f"{path}: " + "; ".join(problems)
