"""The two private sacrebleu methods chrf.py and bleu.py call, pinned.

``function_metrics/bleu.py::segment_statistics`` extracts a column's per-segment statistics
once with ``Metric._extract_corpus_statistics`` and reduces them per row and for the corpus
with ``Metric._aggregate_and_compute`` (the pair sacrebleu's own significance tests use). The
public API (``sentence_score`` per row, then ``corpus_score``) tokenises every text twice and
cannot pool rows of different tokenizers into one corpus score; see
benchmarks/results/multilingual.md for the measured difference. If sacrebleu renames or
changes these methods, this test fails first (the equality tests in test_lexical.py then say
whether the numbers moved).
"""

from __future__ import annotations

import inspect

import pytest
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

from mlflow_llm_eval.function_metrics.bleu import segment_statistics


@pytest.mark.parametrize("cls", [BLEU, CHRF])
def test_private_methods_keep_their_names_and_parameters(cls: type) -> None:
    extract = inspect.signature(cls._extract_corpus_statistics)
    reduce = inspect.signature(cls._aggregate_and_compute)
    assert list(extract.parameters) == ["self", "hypotheses", "references"]
    assert list(reduce.parameters) == ["self", "stats"]


@pytest.mark.parametrize(
    ("metric", "sentence", "corpus"),
    [
        (CHRF(), sacrebleu.sentence_chrf, sacrebleu.corpus_chrf),
        (BLEU(effective_order=True), sacrebleu.sentence_bleu, None),
    ],
)
def test_statistics_reduce_to_the_public_scores(metric, sentence, corpus) -> None:
    hyps = ["the cat sat on the mat", "我爱北京天安门", "a b c"]
    refs = ["the cat is on the mat", "我爱北京", "d e f"]
    stats = segment_statistics(metric, hyps, refs)
    assert len(stats) == 3
    for s, h, r in zip(stats, hyps, refs):
        assert metric._aggregate_and_compute([s]).score == pytest.approx(
            sentence(h, [r]).score, abs=1e-9
        )
    if corpus is not None:
        assert metric._aggregate_and_compute(stats).score == pytest.approx(
            corpus(hyps, [refs]).score, abs=1e-9
        )
    plain = BLEU()  # corpus_bleu's defaults
    assert plain._aggregate_and_compute(segment_statistics(plain, hyps, refs)).score == (
        pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
    )
