"""exact_match: 1.0 when the prediction equals the target, else 0.0 (MLflow's definition).

MLflow compares the strings as they are; here both are first put in the same Unicode
normal form, NFC by default (``"한국"`` typed on macOS arrives decomposed, NFD, and looks
identical): ``normalize="NFKC"`` also folds width and compatibility forms (``"ＡＢＣ１２３"`` ->
``"ABC123"``), ``normalize=None`` compares raw strings as MLflow. ``strip=True`` ignores
surrounding whitespace, ``ignore_case=True`` compares case-folded text (``str.casefold``:
``"Straße"`` equals ``"STRASSE"``).

    >>> exact_match().score_batch({"predictions": ["Paris", "paris"], "targets": ["Paris"] * 2}).scores
    [1.0, 0.0]
    >>> exact_match(ignore_case=True).score_batch({"predictions": ["paris"], "targets": ["Paris"]}).scores
    [1.0]
    >>> import unicodedata
    >>> nfd = unicodedata.normalize("NFD", "한국")
    >>> exact_match().score_batch({"predictions": [nfd], "targets": ["한국"]}).scores
    [1.0]
    >>> exact_match(normalize="NFKC", ignore_case=True).score_batch(
    ...     {"predictions": ["ＡＢＣ１２３"], "targets": ["abc123"]}).scores
    [1.0]
"""

from __future__ import annotations

import unicodedata
from typing import Literal, cast

from mlflow_llm_eval.core.text import score_text_rows
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore


NORMAL_FORMS = ("NFC", "NFKC", "NFD", "NFKD", None)
_NormalForm = Literal["NFC", "NFKC", "NFD", "NFKD"]


class ExactMatch(Metric):
    name = "exact_match"
    value_kind = "binary"
    version = "v1"
    greater_is_better = True
    requires = ("predictions", "targets")
    headline_aggregation = "mean"
    description = "1 if the prediction equals the target string, else 0 (MLflow exact_match)"

    def __init__(
        self, *, strip: bool = False, ignore_case: bool = False, normalize: str | None = "NFC"
    ) -> None:
        if normalize not in NORMAL_FORMS:
            raise ValueError(f"normalize must be one of {NORMAL_FORMS}, got {normalize!r}")
        self.strip, self.ignore_case = bool(strip), bool(ignore_case)
        self.normalize = cast("_NormalForm | None", normalize)  # one of NORMAL_FORMS: checked above

    def _normalise(self, text: str) -> str:
        if self.normalize is not None and not text.isascii():  # ASCII is in every normal form
            text = unicodedata.normalize(self.normalize, text)
        text = text.strip() if self.strip else text
        if self.ignore_case:
            text = text.casefold()
            if self.normalize is not None and not text.isascii():  # casefold can denormalise
                text = unicodedata.normalize(self.normalize, text)
        return text

    def metadata(self) -> dict[str, object]:
        return {
            **super().metadata(),
            "options": {
                "strip": self.strip,
                "ignore_case": self.ignore_case,
                "normalize": self.normalize,
            },
        }

    def score_batch(self, rows: RowBatch) -> MetricResult:
        return score_text_rows(
            [("predictions", rows["predictions"]), ("targets", rows["targets"])],
            lambda valid: [
                RowScore.ok(float(self._normalise(p) == self._normalise(t))) for p, t in valid
            ],
            allow_empty=True,
        )


def exact_match(
    *, strip: bool = False, ignore_case: bool = False, normalize: str | None = "NFC"
) -> ExactMatch:
    """Exact string match of prediction and target, in Unicode normal form ``normalize``."""
    return ExactMatch(strip=strip, ignore_case=ignore_case, normalize=normalize)


METRICS = {"exact_match": exact_match}
