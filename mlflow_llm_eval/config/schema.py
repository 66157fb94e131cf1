"""The typed schema of an evaluation config (``eval.yaml``), validated with pydantic.

Unknown keys are errors (a typo never passes silently). Relative paths are resolved against
``base_dir`` from the validation context (the config file's folder) and must exist.

    >>> cfg = EvalConfig.model_validate({
    ...     "dataset": {"inputs": "question"},
    ...     "models": [{"name": "echo", "python": "builtins:list"}],
    ...     "metrics": ["exact_match", {"name": "rougeL"}],
    ...     "select": {"maximize": "exact_match/v1/mean", "constraints": ["latency/v1/p90 < 2"]}})
    >>> cfg.models[0].kind, cfg.metrics[1].name, str(cfg.select.constraints[0])
    ('python', 'rougeL', 'latency/v1/p90 < 2')
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlflow_llm_eval.config.compare import CompareSpec
from mlflow_llm_eval.config.request_keys import JudgeRequestKeys, RequestKeys
from mlflow_llm_eval.chat.schemes import URI_PREFIXES
from mlflow_llm_eval.select import Constraint, Objective

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
MODEL_KINDS = ("uri", "endpoint", "predictions", "python")
#: The endpoint schemes the chat clients support (the one list: ``chat.schemes``).
ENDPOINT_SCHEMES = URI_PREFIXES
_PYTHON_REF = re.compile(r"^(?P<module>[^:]+):(?P<attr>[A-Za-z_][A-Za-z0-9_.]*)$")
#: The answers column of a predictions file when ``output_column`` is not given.
PREDICTIONS_COLUMN = "predictions"
DATA_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def resolve_path(value: str | Path, info: ValidationInfo, *, must_exist: bool = True) -> Path:
    """Resolve ``value`` against the config file's folder; check that it exists."""
    base = Path((info.context or {}).get("base_dir") or ".")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else (base / path)
    path = path.resolve()
    if must_exist and not path.exists():
        raise ValueError(f"file not found: {path}")
    return path


def resolve_data_file(
    value: Any, info: ValidationInfo, *, format_given: bool = False
) -> Path | None:
    """A data file path (jsonl/csv/parquet by suffix unless a format is given), resolved."""
    if value is None:
        return None
    if not isinstance(value, (str, Path)):
        raise ValueError(f"must be a file path, got {type(value).__name__}")
    path = resolve_path(value, info)
    if path.suffix.lower() not in DATA_FORMATS and not format_given:
        raise ValueError(
            f"cannot tell the format of {path.name}: use a .jsonl, .csv or .parquet file"
        )
    return path


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


#: A Spark table name: ``name``, ``db.name`` or ``catalog.db.name`` (parts may be backquoted).
_TABLE_PART = r"(`[^`]+`|[A-Za-z0-9_][A-Za-z0-9_\-]*)"
TABLE_NAME = re.compile(rf"^{_TABLE_PART}(\.{_TABLE_PART}){{0,2}}$")


def is_remote_path(value: str) -> bool:
    """A storage URI only Spark reads (``s3://``, ``abfss://``, ``dbfs:/``): not checked locally."""
    return "://" in value or value.startswith("dbfs:/")


class DatasetSpec(_Strict):
    """``dataset:`` the rows to evaluate: a file (jsonl, csv or parquet), a Parquet directory or
    Delta table path (``format: delta``; Spark), or a Spark table (``table:``)."""

    format: Literal["jsonl", "csv", "parquet", "delta"] | None = None
    path: Path | str | None = None
    #: A Spark table (``catalog.schema.table``); read with ``spark.table`` (engine spark).
    table: str | None = None
    inputs: list[str] = Field(min_length=1)
    targets: str | None = None
    limit: int | None = Field(default=None, ge=1)
    #: Extra logical columns for metrics, e.g. ``{context: retrieved_docs}``.
    col_mapping: dict[str, str] = Field(default_factory=dict)

    @field_validator("inputs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("path", mode="before")
    @classmethod
    def _resolve(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and is_remote_path(value):
            return value  # Spark reads it (and says so if it cannot) before any run starts
        fmt = info.data.get("format")
        if fmt in ("delta", "parquet") and value is not None:
            return resolve_path(value, info)  # a Delta table or Parquet directory
        return resolve_data_file(value, info, format_given=fmt is not None)

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        if value is not None and TABLE_NAME.match(value) is None:
            raise ValueError(f"must be a Spark table name (catalog.schema.table), got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if self.path is not None and self.table is not None:
            raise ValueError("give dataset.path or dataset.table, not both")
        return self

    @property
    def spark_source(self) -> bool:
        """Only Spark reads it: a table, a Delta path, a storage URI."""
        return (
            self.table is not None
            or self.format == "delta"
            or (isinstance(self.path, str) and is_remote_path(self.path))
        )

    @property
    def file_format(self) -> str:
        assert self.path is not None
        return self.format or DATA_FORMATS.get(Path(self.path).suffix.lower(), "parquet")


class SparkSpec(_Strict):
    """``spark:`` where a Spark evaluation writes (used when the engine is spark)."""

    #: Per-model results: a table name (``main.eval.scores`` -> ``main.eval.scores_<model>``)
    #: or a path (``/Volumes/main/eval/scores`` -> ``.../scores/<model>``); ``{model}`` places
    #: the model's name. Default: Parquet under each child run's artifacts (local artifacts).
    results: str | None = None
    results_format: Literal["parquet", "delta"] | None = None
    #: Rows of each model's table logged as ``eval_results_table.json``.
    sample_rows: int = Field(default=10_000, ge=0)
    #: Shared storage for judge and endpoint-model answers (resume, task retries).
    answers_dir: str | None = None
    judge_partitions: int | None = Field(default=None, ge=1)
    #: How executors get the endpoint keys of judges and endpoint models. Default (unset): their
    #: own environment, e.g. a cluster secret reference
    #: ``spark.executorEnv.OPENAI_API_KEY={{secrets/<scope>/<key>}}``. Or ``module:function`` /
    #: ``file.py:function``: a callable run on each executor returning the keys by variable name
    #: (``{"OPENAI_API_KEY": dbutils.secrets.get(...)}``); loaded when the config is. As
    #: ``credentials=`` of ``le.evaluate``. The driver's keys are never in the task plan.
    key_provider: Any = None
    #: ``true``: pickle the driver's keys into the task plan and set them on every executor
    #: (opt-in, a warning says so; not with ``key_provider``). As ``ship_credentials=True``.
    ship_driver_keys: bool = False

    @field_validator("key_provider")
    @classmethod
    def _load_provider(cls, value: Any, info: ValidationInfo) -> Any:
        from mlflow_llm_eval.config.pyref import load_callable

        if value is None or callable(value):
            return value
        if not isinstance(value, str) or _PYTHON_REF.match(value) is None:
            raise ValueError(
                f"must be 'module:function' or 'file.py:function' (or a callable), got {value!r}"
            )
        base = Path((info.context or {}).get("base_dir") or ".")
        try:
            return load_callable(value, base)
        except (ImportError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
            raise ValueError(f"cannot load {value!r}: {type(exc).__name__}: {exc}") from None

    @field_validator("ship_driver_keys")
    @classmethod
    def _one_way(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("key_provider") is not None:
            raise ValueError(
                "give key_provider (executors resolve the keys) or ship_driver_keys: true "
                "(the driver's keys are shipped), not both"
            )
        return value


class ModelSpec(_Strict, RequestKeys):
    """One entry of ``models:``; exactly one of ``uri``, ``endpoint``, ``predictions``, ``python``.
    Endpoint models also take the request keys (``rpm``, ``tpm``, ``timeout``, ...: see
    :mod:`.request_keys`)."""

    name: str = Field(pattern=NAME_PATTERN)
    uri: str | None = None
    endpoint: str | None = None
    predictions: Path | None = None
    python: Any = None
    prompt_template: str | None = None
    #: Inference parameters (temperature, max_tokens, ...) for endpoint models.
    params: dict[str, Any] = Field(default_factory=dict)
    #: Column of the model's DataFrame output, or of the predictions file, holding the answer.
    output_column: str | None = None
    #: Predictions file only: a column shared with the dataset to join on (else row order).
    key: str | None = None
    #: Predictions file only: a column of per-row seconds, scored by the latency metric.
    latency_column: str | None = None
    #: Endpoint models: requests in flight at once (when rows are not timed one by one).
    concurrency: int = Field(default=4, ge=1, le=256)

    @field_validator("predictions", mode="before")
    @classmethod
    def _resolve(cls, value: Any, info: ValidationInfo) -> Any:
        return resolve_data_file(value, info)

    @field_validator("python")
    @classmethod
    def _python_ref(cls, value: Any) -> Any:
        if value is None or callable(value):
            return value
        if not isinstance(value, str) or _PYTHON_REF.match(value) is None:
            raise ValueError(
                f"must be 'module:function' or 'file.py:function' (or a callable), got {value!r}"
            )
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(ENDPOINT_SCHEMES):
            raise ValueError(
                f"must start with {' or '.join(ENDPOINT_SCHEMES)} (e.g. openai:/gpt-4o-mini), "
                f"got {value!r}"
            )
        return value

    @field_validator("uri")
    @classmethod
    def _uri_kind(cls, value: str | None) -> str | None:
        if value is not None and value.startswith(ENDPOINT_SCHEMES):
            raise ValueError(f"{value!r} is an endpoint: write it as 'endpoint: {value}'")
        return value

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> ModelSpec:
        given = [k for k in MODEL_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"model '{self.name}' needs exactly one of {', '.join(MODEL_KINDS)} "
                f"(found {', '.join(given) if given else 'none'})"
            )
        misplaced = {
            "prompt_template": self.prompt_template is not None and self.kind != "endpoint",
            "params": bool(self.params) and self.kind != "endpoint",
            "key": self.key is not None and self.kind != "predictions",
            "latency_column": self.latency_column is not None and self.kind != "predictions",
            **{key: self.kind != "endpoint" for key in self.request_options()},
        }
        wrong = [k for k, bad in misplaced.items() if bad]
        if wrong:
            raise ValueError(f"model '{self.name}' ({self.kind}) does not take {', '.join(wrong)}")
        return self

    @property
    def kind(self) -> str:
        """``uri``, ``endpoint``, ``predictions`` or ``python``."""
        return next(k for k in MODEL_KINDS if getattr(self, k) is not None)

    @property
    def source(self) -> str:
        """The model's URI, endpoint, file or callable, as text (logged as a param)."""
        value = getattr(self, self.kind)
        if callable(value):
            return (
                f"{getattr(value, '__module__', '?')}:{getattr(value, '__qualname__', repr(value))}"
            )
        return str(value)

    @property
    def registrable(self) -> bool:
        """Only logged MLflow models (``models:/``, ``runs:/``) can get a registry version."""
        return self.kind == "uri" and str(self.uri).startswith(("models:/", "runs:/"))


class MetricSpec(BaseModel):
    """One entry of ``metrics:``: a registered name, with factory options as extra keys."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class JudgeSpec(JudgeRequestKeys):
    """``judge:`` options given to every LLM-judge metric (``model`` at least); the request keys
    (``max_workers``, ``rpm``, ``tpm``, ``timeout``, ...) are checked here, at load."""

    model_config = ConfigDict(extra="allow")
    model: str

    @property
    def options(self) -> dict[str, Any]:
        return {"model": self.model, **self.request_options(), **(self.model_extra or {})}


class ObjectiveSpec(_Strict):
    """``{maximize: <key>}`` or ``{minimize: <key>}``."""

    maximize: str | None = None
    minimize: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ObjectiveSpec:
        if (self.maximize is None) == (self.minimize is None):
            raise ValueError("give exactly one of maximize or minimize (a run metric key)")
        return self

    @property
    def objective(self) -> Objective:
        if self.maximize is not None:
            return Objective(self.maximize, "maximize")
        return Objective(str(self.minimize), "minimize")


ConstraintItem = Annotated[
    Constraint, BeforeValidator(lambda v: Constraint.parse(v) if isinstance(v, str) else v)
]


class SelectSpec(ObjectiveSpec):
    """``select:`` the rule that picks the winner (see :mod:`mlflow_llm_eval.select`)."""

    constraints: list[ConstraintItem] = Field(default_factory=list)
    #: Objectives that break ties in order; default: the declared metrics' means.
    tie_breakers: list[ObjectiveSpec] | None = None
    tolerance: float = Field(default=0.0, ge=0.0)
    #: The winner must beat the runner-up in a paired test at this level (else tie-breakers).
    require_significance: float | None = Field(default=None, gt=0.0, lt=1.0)
    #: Select on one language's slice: the objective (and the default tie-breakers) read
    #: ``<metric>/lang_<code>/<aggregation>`` (logged when the rows hold several languages).
    language: str | None = None

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: Any) -> str | None:
        from mlflow_llm_eval.core.language import normalize_code

        return normalize_code(value)

    @field_validator("constraints", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _significance_needs_a_mean(self) -> SelectSpec:
        if self.require_significance is not None and self.language is not None:
            raise ValueError(
                "require_significance compares per-row scores of all rows; it cannot be "
                f"combined with language: '{self.language}' yet"
            )
        if self.require_significance is not None and not self.objective.key.endswith("/mean"):
            raise ValueError(
                "require_significance compares per-row scores, so the objective must "
                f"be a mean ('<name>/<version>/mean'), got '{self.objective.key}'"
            )
        return self


class RegisterSpec(_Strict):
    """``register:`` put the winner in the MLflow Model Registry."""

    name: str = Field(min_length=1)
    alias: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class ReportSpec(_Strict):
    """``report:`` HTML reports logged to each run."""

    enabled: bool = True
    worst_rows: int = Field(default=5, ge=0, le=200)
    bins: int = Field(default=20, ge=2, le=200)


class EvalConfig(_Strict):
    """A multi-model evaluation: one dataset, several models, metrics, a selection rule."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)

    experiment: str = "llm-eval"
    run_name: str | None = None
    dataset: DatasetSpec
    model_type: Literal["question-answering", "text-summarization", "text"] | None = None
    models: list[ModelSpec] = Field(min_length=1)
    metrics: list[MetricSpec] = Field(default_factory=list)
    judge: JudgeSpec | None = None
    select: SelectSpec | None = None
    #: ``register:`` in YAML (``register`` is taken by pydantic's base class).
    registry: RegisterSpec | None = Field(default=None, alias="register")
    #: How many models are evaluated at the same time.
    max_workers: int = Field(default=4, ge=1, le=64)
    report: ReportSpec = Field(default_factory=ReportSpec)
    #: Judge name -> dataset column of human labels on the judge's scale (judge–human agreement).
    human_labels: dict[str, str] = Field(default_factory=dict)
    #: Comparison steps after every model is scored (``pairwise:`` judge).
    compare: CompareSpec | None = None
    #: ``pandas``, ``spark``, or ``auto``: spark when the dataset is a Spark source (a table, a
    #: Delta path, a storage URI, a Spark DataFrame) and a SparkSession is active.
    engine: Literal["auto", "pandas", "spark"] = "auto"
    spark: SparkSpec = Field(default_factory=SparkSpec)

    @field_validator("metrics", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value
