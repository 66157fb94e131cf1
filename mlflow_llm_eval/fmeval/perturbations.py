"""FMEval's semantic-preserving perturbations, seeded and reproducible per text.

The three perturbations of ``fmeval.transforms.semantic_perturbations`` (adapted there from
NL-Augmenter), with FMEval's defaults (5 perturbations, seed 5):

- ``butter_finger``: each letter becomes a neighbouring key with probability 0.1;
- ``random_upper_case``: 10% of the characters (chosen without replacement) are upper-cased;
- ``whitespace_add_remove``: each whitespace is removed with probability 0.1, and a space is
  added after a non-whitespace character with probability 0.05.

The random draws are numpy's ``default_rng(seed)`` calls in FMEval's order, so a text gets the
perturbations FMEval gives it in a fresh transform. FMEval keeps one generator for the whole
dataset (a row's perturbations depend on the rows before it and on Ray's partitioning); here
each text starts from ``seed``, so a row's perturbations never depend on other rows.

    >>> p = Perturbation("whitespace_add_remove", num_perturbations=2)
    >>> p.perturb("A quick brown fox") == p.perturb("A quick brown fox")
    True
    >>> len(Perturbation("butter_finger").perturb("hello world"))
    5
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: Neighbouring keys on a QWERTY keyboard (FMEval's ``ButterFinger.QUERTY_KEY_APPROX``).
QWERTY_NEIGHBOURS: dict[str, str] = {
    "q": "qwasedzx",
    "w": "wqesadrfcx",
    "e": "ewrsfdqazxcvgt",
    "r": "retdgfwsxcvgt",
    "t": "tryfhgedcvbnju",
    "y": "ytugjhrfvbnji",
    "u": "uyihkjtgbnmlo",
    "i": "iuojlkyhnmlp",
    "o": "oipklujm",
    "p": "plo['ik",
    "a": "aqszwxwdce",
    "s": "swxadrfv",
    "d": "decsfaqgbv",
    "f": "fdgrvwsxyhn",
    "g": "gtbfhedcyjn",
    "h": "hyngjfrvkim",
    "j": "jhknugtblom",
    "k": "kjlinyhn",
    "l": "lokmpujn",
    "z": "zaxsvde",
    "x": "xzcsdbvfrewq",
    "c": "cxvdfzswergb",
    "v": "vcfbgxdertyn",
    "b": "bvnghcftyun",
    "n": "nbmhjvgtuik",
    "m": "mnkjloik",
    " ": " ",
}

#: FMEval's ``SemanticRobustnessConfig`` defaults per perturbation type.
DEFAULT_PARAMETERS: dict[str, dict[str, float]] = {
    "butter_finger": {"perturbation_prob": 0.1},
    "random_upper_case": {"uppercase_fraction": 0.1},
    "whitespace_add_remove": {"add_prob": 0.05, "remove_prob": 0.1},
}
PERTURBATION_TYPES = tuple(DEFAULT_PARAMETERS)


def _butter_finger(text: str, rng, perturbation_prob: float) -> str:
    out = []
    for letter in text:
        lower = letter.lower()
        new = lower
        if lower in QWERTY_NEIGHBOURS and rng.random() <= perturbation_prob:
            new = rng.choice(list(QWERTY_NEIGHBOURS[lower]))
        out.append(new.upper() if lower != letter else new)
    return "".join(out)


def _random_upper_case(text: str, rng, uppercase_fraction: float) -> str:
    positions = set(
        rng.choice(range(len(text)), int(len(text) * uppercase_fraction), False).tolist()
    )
    return "".join(ch.upper() if i in positions else ch for i, ch in enumerate(text))


def _whitespace_add_remove(text: str, rng, add_prob: float, remove_prob: float) -> str:
    out = []
    for ch in text:
        p = rng.random()
        if ch.isspace() and p < remove_prob:
            out.append("")
        elif not ch.isspace() and p < add_prob:
            out.append(ch + " ")
        else:
            out.append(ch)
    return "".join(out)


_FUNCTIONS: dict[str, Callable[..., str]] = {
    "butter_finger": _butter_finger,
    "random_upper_case": _random_upper_case,
    "whitespace_add_remove": _whitespace_add_remove,
}


@dataclass(frozen=True)
class Perturbation:
    """A perturbation type and its parameters; :meth:`perturb` gives the perturbed texts."""

    kind: str = "butter_finger"
    num_perturbations: int = 5
    seed: int = 5
    parameters: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in DEFAULT_PARAMETERS:
            raise ValueError(
                f"unknown perturbation type {self.kind!r}; choose from {PERTURBATION_TYPES}"
            )
        if not isinstance(self.num_perturbations, int) or self.num_perturbations < 1:
            raise ValueError(
                f"num_perturbations must be a positive integer, got {self.num_perturbations!r}"
            )
        allowed = DEFAULT_PARAMETERS[self.kind]
        unknown = set(self.parameters) - set(allowed)
        if unknown:
            raise ValueError(
                f"{self.kind} takes parameters {sorted(allowed)}, not {sorted(unknown)}"
            )
        merged = {**allowed, **self.parameters}
        for key, value in merged.items():
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{key} must be within [0, 1], got {value!r}")
        object.__setattr__(self, "parameters", merged)

    def perturb(self, text: str) -> list[str]:
        """``num_perturbations`` perturbed copies of ``text`` (same text -> same copies)."""
        import numpy as np

        rng = np.random.default_rng(self.seed)
        function = _FUNCTIONS[self.kind]
        return [function(text, rng, **self.parameters) for _ in range(self.num_perturbations)]

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in sorted(self.parameters.items()))
        return f"{self.num_perturbations} x {self.kind}({params}, seed={self.seed})"
