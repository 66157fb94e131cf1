"""Tiny transformer models built and saved locally (seeded random weights, no download).

Reusable by any test that needs a real model directory:

- :func:`build_tokenizer` trains a byte-level BPE tokenizer on a few lines (``tokenizers``)
  and wraps it as a ``PreTrainedTokenizerFast`` (RoBERTa special tokens);
- :func:`save_classifier` saves a 2-layer, hidden-32 RoBERTa or BERT sequence classifier with
  a ``hate``/``nothate`` pair (single-label, softmax) or six toxic-bert labels (multi-label,
  sigmoid);
- :func:`save_encoder` saves an encoder-only model (``AutoModel``, for feature extraction /
  BERTScore).

Session fixtures wrap these (see tests/toxicity/conftest.py); call them with a tmp directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

TRAINING_LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "You are a wonderful person and I like you.",
    "I hate you, you are awful and stupid.",
    "Evaluation of language models with MLflow is fun.",
    "Paris is the capital of France; Berlin is in Germany.",
    "Numbers 0 1 2 3 4 5 6 7 8 9 and punctuation !?.,;:'\"()[]",
]
TOXIC_BERT_LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
MAX_LENGTH = 64


def build_tokenizer(
    lines: Sequence[str] = TRAINING_LINES, *, vocab_size: int = 400, max_length: int = MAX_LENGTH
):
    """A byte-level BPE tokenizer trained on ``lines``; every byte is in its alphabet."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(list(lines), trainer)
    backend.post_processor = processors.RobertaProcessing(
        ("</s>", backend.token_to_id("</s>")),
        ("<s>", backend.token_to_id("<s>")),
        trim_offsets=True,
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
        model_max_length=max_length,
    )


def _config(kind: str, vocab_size: int, max_length: int, **extra):
    from transformers import BertConfig, RobertaConfig

    sizes = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        initializer_range=0.2,
        **extra,
    )
    if kind == "roberta":
        return RobertaConfig(
            max_position_embeddings=max_length + 2,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            **sizes,
        )
    if kind == "bert":
        return BertConfig(max_position_embeddings=max_length, pad_token_id=1, **sizes)
    raise ValueError(f"kind must be 'roberta' or 'bert', got {kind!r}")


def save_classifier(
    path: str | Path,
    *,
    labels: Sequence[str] = ("nothate", "hate"),
    multi_label: bool = False,
    kind: str = "roberta",
    seed: int = 0,
    max_length: int = MAX_LENGTH,
) -> Path:
    """Save a tiny sequence classifier + tokenizer to ``path`` and return it."""
    import torch
    from transformers import AutoModelForSequenceClassification

    tokenizer = build_tokenizer(max_length=max_length)
    config = _config(
        kind,
        len(tokenizer),
        max_length,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        problem_type="multi_label_classification" if multi_label else None,
    )
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(config)
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def save_encoder(
    path: str | Path, *, kind: str = "roberta", seed: int = 0, max_length: int = MAX_LENGTH
) -> Path:
    """Save a tiny encoder-only model (``AutoModel``) + tokenizer for feature extraction."""
    import torch
    from transformers import AutoModel

    tokenizer = build_tokenizer(max_length=max_length)
    torch.manual_seed(seed)
    model = AutoModel.from_config(_config(kind, len(tokenizer), max_length))
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


# Session fixtures: import them into a conftest.py (``from support.tiny_models import ...``).
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A RoBERTa hate/nothate classifier directory (single-label, softmax)."""
    return save_classifier(tmp_path_factory.mktemp("tiny") / "classifier")


@pytest.fixture(scope="session")
def tiny_multilabel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BERT classifier with toxic-bert's six labels (multi-label, sigmoid)."""
    return save_classifier(
        tmp_path_factory.mktemp("tiny") / "multilabel",
        labels=TOXIC_BERT_LABELS,
        multi_label=True,
        kind="bert",
    )


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An encoder-only RoBERTa directory (AutoModel), e.g. for BERTScore."""
    return save_encoder(tmp_path_factory.mktemp("tiny") / "encoder")
