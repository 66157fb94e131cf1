"""Run the model on perturbed inputs once per input, in FMEval's order of calls.

:class:`PerturbedRuns` is shared by the semantic robustness metrics (pass one instance as their
``model`` and the model runs once per perturbed input for all of them). Per row it keeps the
original output (the row's prediction if the data has one, else a model call), the perturbed
inputs and the model's outputs for them, and, for a non-deterministic model,
``num_baseline_samples - 1`` more outputs for the unchanged input. Determinism is decided once,
on the first batch, as FMEval does: two calls on each of the first 5 inputs must agree
(``deterministic=True/False`` skips the check).

    >>> runs = PerturbedRuns(lambda prompts: [p.lower() for p in prompts], num_perturbations=2)
    >>> run = runs.runs(["Hello There"], None)[0]
    >>> run.original, len(run.perturbed_outputs), runs.deterministic
    ('hello there', 2, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlflow_llm_eval.core.text import check_text
from mlflow_llm_eval.core.types import RowScore
from mlflow_llm_eval.fmeval.models import as_text_model
from mlflow_llm_eval.fmeval.perturbations import Perturbation

MODEL_INPUT = "$model_input"
NUM_ROWS_DETERMINISTIC = 5


@dataclass(frozen=True)
class PerturbedRun:
    """One row: the original output, the perturbed inputs and outputs, and baseline outputs."""

    original: Any
    perturbed_inputs: list[str]
    perturbed_outputs: list[Any]
    baseline_outputs: list[Any]


class PerturbedRuns:
    """Runs a model on perturbed inputs, once per input (cached), with FMEval's call order."""

    def __init__(
        self,
        model: Any,
        *,
        perturbation_type: str = "butter_finger",
        num_perturbations: int = 5,
        seed: int = 5,
        num_baseline_samples: int = 4,
        deterministic: bool | None = None,
        prompt_template: str = MODEL_INPUT,
        input_column: str = "inputs",
        butter_finger_perturbation_prob: float = 0.1,
        random_uppercase_corrupt_proportion: float = 0.1,
        whitespace_add_prob: float = 0.05,
        whitespace_remove_prob: float = 0.1,
    ) -> None:
        parameters = {  # FMEval's config names -> the perturbation's parameters
            "butter_finger": {"perturbation_prob": butter_finger_perturbation_prob},
            "random_upper_case": {"uppercase_fraction": random_uppercase_corrupt_proportion},
            "whitespace_add_remove": {
                "add_prob": whitespace_add_prob,
                "remove_prob": whitespace_remove_prob,
            },
        }
        self.perturbation = Perturbation(
            perturbation_type, num_perturbations, seed, parameters.get(perturbation_type, {})
        )
        if not isinstance(num_baseline_samples, int) or num_baseline_samples < 2:
            raise ValueError(
                f"num_baseline_samples must be an integer >= 2, got {num_baseline_samples!r}"
            )
        if not isinstance(prompt_template, str) or MODEL_INPUT not in prompt_template:
            raise ValueError(
                f"prompt_template must contain {MODEL_INPUT!r}, got {prompt_template!r}"
            )
        self.model = as_text_model(model, input_column=input_column)
        self.num_baseline_samples = num_baseline_samples
        self.deterministic = deterministic
        self.prompt_template = prompt_template
        self._cache: dict[tuple[str, Any], PerturbedRun] = {}

    def prompt(self, text: str) -> str:
        return self.prompt_template.replace(MODEL_INPUT, text)

    def describe(self) -> str:
        return self.perturbation.describe()

    def runs(
        self, inputs: Sequence[Any], originals: Sequence[Any] | None
    ) -> list[PerturbedRun | RowScore]:
        """One :class:`PerturbedRun` per valid input, or the RowScore saying why not."""
        out: list[PerturbedRun | RowScore | None] = []
        todo: list[tuple[int, str, Any]] = []
        for i, value in enumerate(inputs):
            checked = check_text(value, column="inputs")
            original = originals[i] if originals is not None else None
            if checked.unscored is not None:
                out.append(checked.unscored)
                continue
            assert checked.text is not None  # check_text gives the text or why not
            if (checked.text, original) in self._cache:
                out.append(self._cache[(checked.text, original)])
            else:
                out.append(None)
                todo.append((i, checked.text, original))
        if todo:
            for (i, text, original), run in zip(
                todo, self._run([t[1:] for t in todo]), strict=True
            ):
                self._cache[(text, original)] = run
                out[i] = run
        return out  # type: ignore[return-value]

    def _run(self, rows: list[tuple[str, Any]]) -> list[PerturbedRun]:
        prompts = [self.prompt(text) for text, _ in rows]
        computed = [original is None for _, original in rows]
        if any(computed):
            fresh = iter(self.model([p for p, c in zip(prompts, computed) if c]))
            originals = [next(fresh) if c else original for (_, original), c in zip(rows, computed)]
        else:
            originals = [original for _, original in rows]
        if self.deterministic is None:
            self.deterministic = self._check_determinism(prompts, originals, computed)
        perturbed_inputs = [self.perturbation.perturb(text) for text, _ in rows]
        flat = [self.prompt(p) for inputs in perturbed_inputs for p in inputs]
        outputs = self.model(flat)
        n = self.perturbation.num_perturbations
        baseline: list[list[Any]] = [[] for _ in rows]
        if not self.deterministic:
            k = self.num_baseline_samples - 1
            extra = self.model([p for _ in range(k) for p in prompts])
            baseline = [[extra[j * len(rows) + r] for j in range(k)] for r in range(len(rows))]
        return [
            PerturbedRun(
                originals[r], perturbed_inputs[r], outputs[r * n : (r + 1) * n], baseline[r]
            )
            for r in range(len(rows))
        ]

    def _check_determinism(
        self, prompts: list[str], originals: list[Any], computed: list[bool]
    ) -> bool:
        """FMEval's heuristic: two calls on each of the first 5 inputs give the same output."""
        head = list(range(min(NUM_ROWS_DETERMINISTIC, len(prompts))))
        first = [originals[i] if computed[i] else None for i in head]
        need_first = [i for i in head if not computed[i]]
        if need_first:
            fresh = iter(self.model([prompts[i] for i in need_first]))
            first = [f if computed[i] else next(fresh) for i, f in zip(head, first)]
        second = self.model([prompts[i] for i in head])
        return all(a == b for a, b in zip(first, second))
