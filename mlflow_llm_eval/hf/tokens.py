"""Tokenise once with truncation at the model's maximum length, flag truncated rows, pad batches.

The ids are exactly what ``tokenizer(text, truncation=True, max_length=...)`` gives (what the
transformers pipelines feed the model), so scores match theirs. A row is *truncated* when the
tokenizer reached the limit and text remains after the last token kept (read from the fast
tokenizer's character offsets). Texts longer than ``CHAR_CAP_PER_TOKEN * max_length``
characters are cut to that first (a token spans a few characters; this keeps a 1 MB string
from being tokenised whole) and always count as truncated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Characters kept per allowed token before tokenising (see module docstring).
CHAR_CAP_PER_TOKEN = 50

#: Model types whose position ids start after the padding index (max_position_embeddings - 2).
_OFFSET_POSITION_MODELS = {
    "roberta",
    "xlm-roberta",
    "camembert",
    "longformer",
    "bart",
    "mbart",
    "xlm-roberta-xl",
    "data2vec-text",
    "ibert",
    "mpnet",
    "luke",
}


@dataclass(frozen=True)
class Encoded:
    """One text's model inputs (``input_ids``, ``attention_mask``, ...) and whether it was cut."""

    features: dict[str, list[int]]
    truncated: bool

    @property
    def length(self) -> int:
        return len(self.features["input_ids"])


def max_input_length(tokenizer: Any, config: Any) -> int:
    """Tokens the model accepts: the tokenizer's ``model_max_length`` capped by the positions."""
    limits = []
    declared = getattr(tokenizer, "model_max_length", None)
    if isinstance(declared, int) and 0 < declared < 1_000_000:
        limits.append(declared)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        offset = 2 if getattr(config, "model_type", "") in _OFFSET_POSITION_MODELS else 0
        limits.append(positions - offset)
    return min(limits) if limits else 512


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[Encoded]:
    """Tokenise ``texts`` in one call, truncating to ``max_length`` tokens; flag the cut ones."""
    cap = CHAR_CAP_PER_TOKEN * max_length
    clipped = [t[:cap] for t in texts]
    fast = bool(getattr(tokenizer, "is_fast", False))
    batch = tokenizer(
        list(clipped), truncation=True, max_length=max_length, return_offsets_mapping=fast
    )
    keys = [k for k in batch.keys() if k != "offset_mapping"]
    encoded = []
    for i, text in enumerate(clipped):
        features = {k: list(batch[k][i]) for k in keys}
        cut = len(text) < len(texts[i])
        if not cut and len(features["input_ids"]) >= max_length:
            if fast:
                last_end = max((end for _, end in batch["offset_mapping"][i]), default=0)
                cut = bool(text[last_end:].strip())
            else:
                cut = len(tokenizer(text)["input_ids"]) > max_length
        encoded.append(Encoded(features, cut))
    return encoded


def collate(tokenizer: Any, rows: Sequence[Encoded], device: torch.device | str) -> dict[str, Any]:
    """Pad a batch of encoded rows to its longest row; tensors on ``device``."""
    padded = tokenizer.pad([dict(r.features) for r in rows], padding=True, return_tensors="pt")
    return {k: v.to(device) for k, v in padded.items()}
