"""Load and validate an evaluation config; every problem names the key and the YAML line.

All problems are collected and reported together::

    eval.yaml: 2 problems
      eval.yaml:7: models[1]: model 'gpt' needs exactly one of uri, endpoint, predictions, python (found none)
      eval.yaml:12: select.maximize: 'rouge9/v1/mean' is not a metric of this config; ...

Checks, in order: YAML syntax, duplicate keys, secrets (API keys are read from the environment
only, never from the file), the schema (types, unknown keys, files exist), then cross-references
(unique model names, metric names, selection keys).

    >>> load_config({"dataset": {"inputs": "q"}, "models": [{"name": "m"}]})
    Traceback (most recent call last):
    ...
    mlflow_llm_eval.config.loader.ConfigError: <config>: 1 problem
      <config>: models[0]: model 'm' needs exactly one of uri, endpoint, predictions, python (found none)
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mlflow_llm_eval.config.metrics import MetricPlan, plan_metrics
from mlflow_llm_eval.config.schema import EvalConfig
from mlflow_llm_eval.config.source import Loc, YamlSource, YamlSyntaxError, format_loc

#: Keys that hold secrets; their values must come from the environment.
_SECRET_KEY = re.compile(
    r"^(.*[_-])?(api[_-]?key|apikey|secret|secret[_-]?key|password|passwd|token|"
    r"access[_-]?key|private[_-]?key|authorization|bearer|credentials?)$",
    re.IGNORECASE,
)
#: Values that look like provider keys (OpenAI ``sk-...``, bearer tokens).
_SECRET_VALUE = re.compile(r"^(sk-[A-Za-z0-9_\-]{16,}|Bearer\s+\S{16,})$")


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: where (dotted key path and line) and what."""

    path: str
    line: int | None
    message: str

    def render(self, source_name: str) -> str:
        where = f"{source_name}:{self.line}" if self.line is not None else source_name
        return f"{where}: {self.path}: {self.message}"


class ConfigError(ValueError):
    """The config has problems; ``issues`` lists each with its key path and line."""

    def __init__(self, source_name: str, issues: Sequence[ConfigIssue]) -> None:
        self.source_name = source_name
        self.issues = sorted(issues, key=lambda i: (i.line is None, i.line or 0))
        count = f"{len(self.issues)} problem{'s' if len(self.issues) != 1 else ''}"
        lines = [f"{source_name}: {count}"] + ["  " + i.render(source_name) for i in self.issues]
        super().__init__("\n".join(lines))


@dataclass
class LoadedConfig:
    """A validated config, its source (for line numbers in later errors) and resolved metrics."""

    config: EvalConfig
    source: YamlSource
    base_dir: Path
    metrics: MetricPlan

    def error(self, loc: Loc, message: str) -> ConfigError:
        """A :class:`ConfigError` for a problem found after loading (e.g. a missing column)."""
        return ConfigError(self.source.name, [_issue(self.source, loc, message)])


def _issue(source: YamlSource, loc: Sequence[int | str], message: str) -> ConfigIssue:
    return ConfigIssue(format_loc(loc), source.line_of(loc), message)


def load_config(
    config: str | Path | Mapping[str, Any] | EvalConfig | LoadedConfig,
    *,
    base_dir: str | Path | None = None,
) -> LoadedConfig:
    """Validate a YAML file path, a dict or an :class:`EvalConfig`; raise :class:`ConfigError`.

    Relative paths resolve against the YAML file's folder, or ``base_dir`` (default: the
    current directory) for a dict.
    """
    if isinstance(config, LoadedConfig):
        return config
    if isinstance(config, EvalConfig):
        config = config.model_dump(exclude_unset=True)
    if isinstance(config, (str, Path)):
        path = Path(config)
        if not path.is_file():
            raise ConfigError(str(path), [ConfigIssue("<file>", None, "config file not found")])
        try:
            source = YamlSource.from_path(path)
        except YamlSyntaxError as exc:
            raise ConfigError(exc.name, [ConfigIssue("<yaml>", exc.line, exc.problem)]) from exc
        root = Path(base_dir) if base_dir is not None else path.resolve().parent
    elif isinstance(config, Mapping):
        source = YamlSource.from_data(dict(config))
        root = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        raise TypeError(f"expected a config path, dict or EvalConfig, got {type(config).__name__}")
    issues = [
        _issue(source, loc, f"duplicate key (line {line}); keep one")
        for loc, line in source.duplicates
    ]
    if not isinstance(source.data, Mapping):
        issues.append(
            ConfigIssue("<root>", source.line_of(()), "the config must be a mapping of keys")
        )
        raise ConfigError(source.name, issues)
    issues += _secret_issues(source, source.data, ())
    try:
        parsed = EvalConfig.model_validate(source.data, context={"base_dir": str(root)})
    except ValidationError as exc:
        secret_paths = {i.path for i in issues}
        issues += [
            issue
            for e in exc.errors()
            if (issue := _issue(source, _clean_loc(e), _message(e))).path not in secret_paths
        ]
        raise ConfigError(source.name, issues) from None
    if issues:
        raise ConfigError(source.name, issues)
    plan, problems = plan_metrics(parsed, root)
    issues += [_issue(source, loc, message) for loc, message in problems]
    if issues:
        raise ConfigError(source.name, issues)
    return LoadedConfig(parsed, source, root.resolve(), plan)


def _secret_issues(source: YamlSource, value: Any, loc: Loc) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    if isinstance(value, Mapping):
        for key, child in value.items():
            where = (*loc, key)
            if isinstance(key, str) and _SECRET_KEY.match(key) and child not in (None, ""):
                issues.append(
                    _issue(
                        source,
                        where,
                        (
                            f"'{key}' looks like a secret: secrets are read from the environment only "
                            "(e.g. OPENAI_API_KEY), never from the config; remove it"
                        ),
                    )
                )
            else:
                issues += _secret_issues(source, child, where)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            issues += _secret_issues(source, child, (*loc, index))
    elif isinstance(value, str) and _SECRET_VALUE.match(value.strip()):
        issues.append(
            _issue(
                source,
                loc,
                (
                    "this value looks like an API key: set it in the environment (e.g. OPENAI_API_KEY) "
                    "and remove it from the config"
                ),
            )
        )
    return issues


def _clean_loc(error: Mapping[str, Any]) -> Loc:
    """Drop pydantic's internal location parts (union tags like ``function-after[...]``)."""
    return tuple(p for p in error["loc"] if isinstance(p, int) or "[" not in str(p))


def _message(error: Mapping[str, Any]) -> str:
    kind, loc = error["type"], _clean_loc(error)
    if kind == "missing":
        return f"required key '{loc[-1]}' is missing"
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        text = f"unknown key '{loc[-1]}'"
        text += f" (did you mean '{hint[0]}'?)" if hint else ""
        return text + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _fields_at(loc: Loc) -> list[str]:
    """Field names of the schema model found at ``loc`` (for 'did you mean' hints)."""
    current: Any = EvalConfig
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif (
            isinstance(current, type)
            and issubclass(current, BaseModel)
            and part in current.model_fields
        ):
            current = current.model_fields[part].annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation
