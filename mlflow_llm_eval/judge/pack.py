"""The judge pack: one YAML file per LLM-as-judge metric, shipped inside the wheel.

A judge file holds ``name``, ``version``, ``description``, ``definition``, ``grading_prompt`` (the
rubric), ``scale`` ``[low, high]``, ``grading_context_columns``, ``include_input``,
``greater_is_better``, ``counterpart`` and few-shot ``examples``. Changing a rubric bumps its
``version``. Installed from a wheel the files live in ``mlflow_llm_eval/_judge_pack/``; in a
source checkout in ``<repo>/metrics/``.

    >>> spec = load_judge("answer_similarity")
    >>> spec.key, spec.scale, spec.grading_context_columns
    ('answer_similarity/v1', (1, 5), ('targets',))
    >>> "faithfulness" in pack_names()
    True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Where the pack files are looked for, first match wins: installed wheel, then source checkout.
PACK_LOCATIONS: tuple[Path, ...] = (_PACKAGE_DIR / "_judge_pack", _PACKAGE_DIR.parent / "metrics")


@dataclass(frozen=True)
class EvaluationExample:
    """A few-shot example; same fields as ``mlflow.metrics.genai.EvaluationExample``.

    ``grading_context`` is a dict (column -> text) or one string for the first context column.
    """

    output: str
    score: float
    justification: str
    input: str | None = None
    grading_context: Mapping[str, str] | str | None = None


@dataclass(frozen=True)
class JudgeSpec:
    """Everything that defines a judge's prompt and how its answer is read."""

    name: str
    definition: str
    grading_prompt: str
    version: str = "v1"
    scale: tuple[float, float] = (1, 5)
    examples: tuple[EvaluationExample, ...] = ()
    grading_context_columns: tuple[str, ...] = ()
    include_input: bool = True
    greater_is_better: bool = True
    description: str = ""
    counterpart: str = ""
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for column in self.grading_context_columns:
            field_name = shadowed_field(column, self.include_input)
            if field_name is not None:
                what = "the prediction" if field_name == "output" else "the model input"
                raise ValueError(
                    f"judge '{self.name}': grading context column '{column}' clashes with the "
                    f"graded field '{field_name}' ({what}): it would replace it in the prompt. "
                    f"Give the context column another name (e.g. 'reference_{field_name}', and "
                    f"col_mapping={{'reference_{field_name}': '{column}'}} in evaluator_config)"
                )

    @property
    def key(self) -> str:
        return f"{self.name}/{self.version}"


#: The fields a judge grades, as they are labelled in its prompt; context columns must not reuse them.
GRADED_FIELDS = ("input", "output")


def graded_fields(include_input: bool) -> tuple[str, ...]:
    """The prompt labels of the graded fields: ``output`` and, with ``include_input``, ``input``."""
    return GRADED_FIELDS if include_input else ("output",)


def shadowed_field(column: str, include_input: bool) -> str | None:
    """The graded field a context column named ``column`` would shadow (case-insensitive), if any.

    >>> shadowed_field("Output", include_input=False), shadowed_field("targets", True)
    ('output', None)
    """
    name = str(column).strip().lower()
    return name if name in graded_fields(include_input) else None


def as_example(value: Any, context_columns: Sequence[str]) -> EvaluationExample:
    """Accept our example, MLflow's ``EvaluationExample`` (duck-typed) or a dict; validate it."""
    if isinstance(value, Mapping):
        data = dict(value)
    else:
        data = {
            k: getattr(value, k, None)
            for k in ("output", "score", "justification", "input", "grading_context")
        }
    missing = [k for k in ("output", "score", "justification") if data.get(k) is None]
    if missing:
        raise ValueError(f"judge example {value!r} lacks {missing}")
    context = data.get("grading_context")
    if isinstance(context, str):
        if not context_columns:
            raise ValueError("an example has grading_context but the judge has no context columns")
        context = {context_columns[0]: context}
    context = dict(context or {})
    if set(context) != set(context_columns):
        raise ValueError(
            f"example grading_context has columns {sorted(context)}, the judge grades on "
            f"{list(context_columns)}: give every example one value per grading context column"
        )
    justification = data["justification"]
    if isinstance(justification, (tuple, list)):  # MLflow's own docstring example has a 1-tuple
        justification = " ".join(map(str, justification))
    return EvaluationExample(
        output=str(data["output"]),
        score=data["score"],
        justification=str(justification),
        input=None if data.get("input") is None else str(data["input"]),
        grading_context={k: str(v) for k, v in context.items()} or None,
    )


_SCORE_RE = re.compile(r"\bscore\s*(\d+(?:\.\d+)?)\b", re.IGNORECASE)


def infer_scale(grading_prompt: str) -> tuple[float, float] | None:
    """The score range a rubric names (``Score 1`` ... ``Score 5`` -> ``(1, 5)``), or None.

    >>> infer_scale("- Score 1: bad\\n- Score 3: ok\\n- Score 5: good")
    (1, 5)
    >>> infer_scale("rate it") is None
    True
    """
    found = {float(m) for m in _SCORE_RE.findall(grading_prompt)}
    if len(found) < 2:
        return None
    low, high = min(found), max(found)
    return (int(low) if low.is_integer() else low, int(high) if high.is_integer() else high)


def validate_scale(scale: Sequence[float]) -> tuple[float, float]:
    values = tuple(scale)
    if (
        len(values) != 2
        or not all(isinstance(v, (int, float)) for v in values)
        or values[0] >= values[1]
    ):
        raise ValueError(f"scale must be (low, high) numbers with low < high, got {scale!r}")
    return values[0], values[1]


def pack_dir() -> Path:
    """The folder holding the pack files (wheel layout first, then the source checkout)."""
    for location in PACK_LOCATIONS:
        if location.is_dir() and any(location.glob("*.yaml")):
            return location
    raise FileNotFoundError(
        "the judge pack was not found; looked in " + ", ".join(map(str, PACK_LOCATIONS))
    )


def parse_judge_file(path: Path) -> JudgeSpec:
    """Read and validate one judge file."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a judge file holds a mapping")
    required = ("name", "version", "definition", "grading_prompt", "scale")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{path}: missing {missing}")
    unknown = set(data) - (set(JudgeSpec.__dataclass_fields__) - {"source"})
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    if data["name"] != path.stem:
        raise ValueError(f"{path}: name '{data['name']}' differs from the file name")
    columns = tuple(data.get("grading_context_columns") or ())
    return JudgeSpec(
        name=data["name"],
        version=str(data["version"]),
        definition=data["definition"].strip(),
        grading_prompt=data["grading_prompt"].strip(),
        scale=validate_scale(data["scale"]),
        examples=tuple(as_example(e, columns) for e in data.get("examples") or ()),
        grading_context_columns=columns,
        include_input=bool(data.get("include_input", True)),
        greater_is_better=bool(data.get("greater_is_better", True)),
        description=str(data.get("description", "")).strip(),
        counterpart=str(data.get("counterpart", "")),
        source=str(path),
    )


@functools.cache
def load_pack() -> dict[str, JudgeSpec]:
    """Every judge of the pack by name."""
    return {spec.name: spec for spec in map(parse_judge_file, sorted(pack_dir().glob("*.yaml")))}


def pack_names() -> list[str]:
    return sorted(load_pack())


def load_judge(name: str) -> JudgeSpec:
    pack = load_pack()
    if name not in pack:
        raise KeyError(f"no judge '{name}' in the pack ({pack_dir()}); judges: {sorted(pack)}")
    return pack[name]
