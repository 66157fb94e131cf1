"""One evaluation, three doors, the same answers.

Every registered metric (offline: judges at the local fake OpenAI server, toxicity and BERTScore
on tiny local models, model-based FMEval metrics on deterministic stand-ins), a ``make_metric``
metric with an ``evaluator_config`` parameter, a derived MLflow metric (reading ``metrics[...]``
and taking another metric's name as a parameter), ``metric_prefix`` and ``human_labels`` run
through the classic door (``le.evaluate`` on pandas = ``mlflow.evaluate(evaluators="llm_eval")``),
Spark ``local[2]`` (two partitions, so batches merge) and the MLflow 3 scorers (where the metric
applies), on the same rows, in ONE evaluate call per door. Then one parameterised test per
metric compares the doors: per-row values and statuses, aggregates (1e-9), table columns and
types. Further tests: a preset without targets, and the same error for the same bad config.
"""

from __future__ import annotations

import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow.metrics import MetricValue, make_metric

import mlflow_llm_eval as le
from mlflow_llm_eval.core.merge import merge_rule
from mlflow_llm_eval.core.registry import available_metrics
from mlflow_llm_eval.core.types import NOT_MERGEABLE
from mlflow_llm_eval.judge.builtin import METRICS as PACK_JUDGES
from mlflow_llm_eval.judge.claim_judges import METRICS as CLAIM_JUDGES
from mlflow_llm_eval.judge.conversation import METRICS as CONVERSATION_JUDGES
from mlflow_llm_eval.sample import as_metric

pytestmark = pytest.mark.usefixtures("mlflow_store")

PREFIX = "p_"
QUESTIONS = [
    "What is the capital of France?",
    "Which planet is the largest?",
    "Who wrote Hamlet?",
    "What is water made of?",
    "Name a primary colour.",
    "What is the boiling point of water?",
    "Who painted the Mona Lisa?",
    "What is 2 + 2?",
    "Which ocean is the largest?",
    "What gas do plants take in?",
]
TARGETS = [
    "Paris",
    "Jupiter",
    "Shakespeare<OR>William Shakespeare",
    "hydrogen and oxygen",
    "red",
    "100 degrees Celsius",
    "Leonardo da Vinci",
    "4",
    "the Pacific",
    "carbon dioxide",
]
PREDICTIONS = [
    "The capital of France is Paris.",
    "Saturn is the largest planet.",
    "Hamlet was written by William Shakespeare.",
    "Water is hydrogen and oxygen.",
    None,
    "Water boils at 100 degrees Celsius at sea level.",
    "Leonardo da Vinci",
    "4",
    "",
    "Plants take in carbon dioxide and give out oxygen.",
]
CONTEXTS = [f"Reference text {i}: {t}." for i, t in enumerate(TARGETS)]
SENT_MORE = [
    "Poor people are lazy.",
    "Old people cannot use phones.",
    "Girls are bad at maths.",
    "Tall men are leaders.",
    "Rich people are greedy.",
] * 2
SENT_LESS = [
    "Rich people are lazy.",
    "Young people cannot use phones.",
    "Boys are bad at maths.",
    "Short men are leaders.",
    "Poor people are greedy here.",
] * 2
LABELS = ["paris", "jupiter", "4", "red"]
#: Tool calls as JSON text (OpenAI's format and the plain one), some matching, one malformed.
TOOL_CALLS = [
    json.dumps(
        [{"type": "function", "function": {"name": "search", "arguments": json.dumps({"q": q})}}]
    )
    for q in ("paris", "jupiter", "hamlet", "water", "red")
] * 2
TOOL_CALLS[3] = '[{"function": {"arguments": "{not json"}}]'
EXPECTED_TOOL_CALLS = [
    json.dumps([{"name": "search", "arguments": {"q": q}}])
    for q in ("paris", "saturn", "hamlet", "water", "blue")
] * 2
CONVERSATIONS = [
    json.dumps([{"role": "user", "content": q}, {"role": "assistant", "content": str(p)}])
    for q, p in zip(QUESTIONS, PREDICTIONS)
]


JUDGES = {**PACK_JUDGES, **CLAIM_JUDGES, **CONVERSATION_JUDGES}


def echo_model(prompts: list[str]) -> list[str]:
    """A deterministic 'model' for semantic robustness: lower-cases and trims its inputs."""
    return [str(p).lower().strip(" ?") for p in prompts]


def length_logprobs(sentences: list[str]) -> list[float]:
    """A deterministic 'language model' for prompt_stereotyping: shorter is more likely."""
    return [-float(len(s)) for s in sentences]


def options(name: str, classifier: str, encoder: str) -> dict[str, Any]:
    """What makes ``name`` run offline here (the same on every door)."""
    if name in JUDGES:
        return {"model": "openai:/gpt-4o-mini", "cache": False, "progress": False}
    if name == "toxicity":
        return {"model": classifier, "device": "cpu"}
    if name in ("bertscore", "qa_bertscore"):
        return {"model": encoder, "device": "cpu"}
    if name == "classification_accuracy":  # default labels are a batch's distinct targets
        return {"valid_labels": LABELS}
    if name == "prompt_stereotyping":
        return {"model": length_logprobs}
    if name == "semantic_robustness_bertscore_dissimilarity":
        return {
            "model": echo_model,
            "bertscore_model": encoder,
            "device": "cpu",
            "deterministic": True,
            "num_perturbations": 2,
        }
    if name.startswith("semantic_robustness"):
        return {"model": echo_model, "deterministic": True, "num_perturbations": 2}
    return {}


def word_gap(predictions: pd.Series, targets: pd.Series, min_words: int) -> MetricValue:
    """A make_metric metric with an evaluator_config parameter (``min_words``)."""
    scores = [
        None
        if not isinstance(p, str)
        else float(max(min_words, abs(len(p.split()) - len(str(t).split()))))
        for p, t in zip(predictions, targets)
    ]
    return MetricValue(scores=scores)


def em_or_rouge(
    predictions: pd.Series, metrics: dict[str, MetricValue], rougeL: MetricValue
) -> MetricValue:
    """A derived metric: reads ``metrics[...]`` and takes another metric's name."""
    exact = metrics["exact_match/v1"].scores
    return MetricValue(
        scores=[e if math.isnan(r) else max(e, r) for e, r in zip(exact, rougeL.scores)]
    )


#: Registered names that are another name's metric (same key): run once, under that name.
ALIASES = {"meteor": "meteor_exact_stem"}
NAMES = [n for n in available_metrics() if n not in ALIASES]
#: Metrics with a float32 model forward pass: Spark's Python workers (another process, another
#: thread count) round differently, ~1e-8 relative; compared to 1e-6 relative, all else exactly.
FLOAT32_MODELS = {
    "toxicity",
    "bertscore",
    "qa_bertscore",
    "semantic_robustness_bertscore_dissimilarity",
}
CUSTOM = ["word_gap", "em_or_rouge"]
#: Where a metric does not apply on the MLflow 3 door (docs/doors.md).
NOT_A_SCORER = {
    "latency": "MLflow 3 times the trace itself",
    "word_gap": "evaluator_config parameters are a classic/Spark notion",
    "em_or_rouge": "a derived metric reads other metrics' results: refused by name",
    **{
        n: "reads the trace's TOOL spans (tests/agents)"
        for n in ("tool_call_correctness", "tool_call_f1", "tool_call_efficiency")
    },
    **{
        n: "reads RETRIEVER spans and expected document ids (tests/agents)"
        for n in ("precision_at_k", "recall_at_k", "ndcg_at_k", "mrr", "hit_rate")
    },
    **{n: "a session-level scorer (tests/agents/test_sessions.py)" for n in CONVERSATION_JUDGES},
}


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list(range(len(QUESTIONS))),
            "inputs": QUESTIONS,
            "context": CONTEXTS,
            "sent_more": SENT_MORE,
            "sent_less": SENT_LESS,
            "latency": [0.1 * (i + 1) for i in range(10)],
            "human": [(i % 5) + 1 for i in range(10)],
            "tool_calls": TOOL_CALLS,
            "expected_tool_calls": EXPECTED_TOOL_CALLS,
            "conversation": CONVERSATIONS,
            "targets": TARGETS,
            "predictions": PREDICTIONS,
        }
    )


def build(name: str, classifier: str, encoder: str) -> Any:
    """The registered metric ``name`` as this test runs it on every door. A model's forward
    pass takes one row at a time, so float32 padding never depends on a row's batch-mates."""
    metric = le.get_metric(name, **options(name, classifier, encoder))
    for holder in (metric, getattr(metric, "scorer", None)):
        if hasattr(holder, "batch_size"):
            holder.batch_size = 1
    return metric


def metrics(classifier: str, encoder: str) -> list[Any]:
    ours = [build(n, classifier, encoder) for n in NAMES]
    return ours + [
        make_metric(eval_fn=word_gap, greater_is_better=False, name="word_gap"),
        make_metric(eval_fn=em_or_rouge, greater_is_better=True, name="em_or_rouge"),
    ]


CONFIG = {"metric_prefix": PREFIX, "human_labels": {"coherence": "human"}, "min_words": 1}


@pytest.fixture(scope="module")
def doors(
    spark, judge_env, tiny_classifier_dir, tiny_encoder_dir, tmp_path_factory, sqlite_tracking_uri
) -> dict[str, Any]:
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # eval_fns reach executors
    mlflow.set_tracking_uri(sqlite_tracking_uri)
    mlflow.set_experiment("parity")
    classifier, encoder = str(tiny_classifier_dir), str(tiny_encoder_dir)
    built = dict(zip(NAMES + CUSTOM, [as_metric(m) for m in metrics(classifier, encoder)]))
    rows = frame()
    common = {"targets": "targets", "predictions": "predictions", "evaluator_config": CONFIG}
    classic = le.evaluate(data=rows, extra_metrics=metrics(classifier, encoder), **common)
    on_spark = le.evaluate(
        data=spark.createDataFrame(rows).repartition(2),
        extra_metrics=metrics(classifier, encoder),
        results_table=str(tmp_path_factory.mktemp("spark") / "t"),
        **common,
    )
    scorers = {
        n: le.scorers.make_scorer(build(n, classifier, encoder), name=n, batch_size=3)
        for n in NAMES
        if n not in NOT_A_SCORER
    }

    def call(args: tuple[str, int]) -> Any:
        name, i = args
        return scorers[name](
            inputs={"question": QUESTIONS[i], "context": CONTEXTS[i]},
            outputs=PREDICTIONS[i],
            expectations={
                "expected_response": TARGETS[i],
                "sent_more": SENT_MORE[i],
                "sent_less": SENT_LESS[i],
            },
        )

    jobs = [(n, i) for n in scorers for i in range(len(QUESTIONS))]
    with ThreadPoolExecutor(4) as pool:  # as MLflow's harness calls a scorer: rows in threads
        feedback = dict(zip(jobs, pool.map(call, jobs)))
    return {
        "classic": classic,
        "spark": on_spark,
        "scorers": scorers,
        "feedback": feedback,
        "metrics": built,
    }


def _table(result: Any) -> pd.DataFrame:
    """The logged eval_results_table (``metric_prefix`` applied to its file name)."""
    table = pd.DataFrame(**result.artifacts["eval_results_table"].content)
    return table.sort_values("id").reset_index(drop=True)


def _same(a: float, b: float, rel: float = 1e-9) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9, rel=rel)


@pytest.mark.parametrize("name", NAMES + CUSTOM)
def test_every_door_gives_the_same_rows_statuses_and_aggregates(name: str, doors) -> None:
    classic, spark = _table(doors["classic"]), _table(doors["spark"])
    metric = doors["metrics"][name]
    key = metric.key

    def mine(column: str) -> bool:
        return column == f"{PREFIX}{key}" or column.startswith(f"{PREFIX}{key}/")

    ours = [c for c in classic.columns if mine(c)]
    assert ours, f"{name}: no columns in the classic table"
    assert [c for c in spark.columns if mine(c)] == ours
    rel = 1e-6 if name in FLOAT32_MODELS else 1e-9
    exact = {"check_exact": True} if name not in FLOAT32_MODELS else {"rtol": rel, "atol": 1e-9}
    pd.testing.assert_frame_equal(spark[ours], classic[ours], **exact)  # values, statuses, dtypes
    runs = {
        door: {k: v for k, v in doors[door].metrics.items() if mine(k)}
        for door in ("classic", "spark")
    }
    assert runs["classic"], f"{name}: no aggregates"
    # every aggregate of the classic path, extras merged over 2 partitions by the declared rule
    # (classification_accuracy's from the summed counts); only an extra declared not mergeable
    # is left out, with a warning: bleu's and chrf's corpus score (exact in one batch only)
    assert set(runs["spark"]) == set(runs["classic"])  # every aggregate merges over partitions
    for k, v in runs["spark"].items():  # request accounting too: nothing is paid twice
        assert _same(v, runs["classic"][k], rel), (k, v, runs["classic"][k])
    if name in NOT_A_SCORER:
        return
    status_column = f"{PREFIX}{key}/status"
    score_column = next(c for c in ours if c.endswith("/score") or c == f"{PREFIX}{key}")
    for i in range(len(QUESTIONS)):
        if PREDICTIONS[i] is None and "predictions" in metric.optional:
            continue  # MLflow 3 gives no output: the metric runs the model itself (doors.md)
        fb = doors["feedback"][(name, i)]
        assert fb.metadata["llm_eval.status"] == classic[status_column][i], (name, i)
        expected = classic[score_column][i]
        got = math.nan if fb.value is None else float(fb.value)
        assert _same(got, float("nan") if expected is None else float(expected), rel), (name, i)
    scorer = doors["scorers"][name]
    extras = {
        k.rsplit("/", 1)[1]: v
        for k, v in runs["classic"].items()
        if k.rsplit("/", 1)[1] in scorer.accounting
    }
    for k, v in extras.items():  # merged over the scorer's batches by the declared rule
        assert merge_rule(scorer.metric, k) != NOT_MERGEABLE
        assert _same(scorer.accounting[k], v), (k, scorer.accounting[k], v)


def test_table_layout_is_the_same_on_both_doors(doors) -> None:
    classic, spark = _table(doors["classic"]), _table(doors["spark"])
    assert list(spark.columns) == list(classic.columns)
    assert dict(spark.dtypes) == dict(classic.dtypes)
    assert f"{PREFIX}coherence/v1/human_kappa" in doors["classic"].metrics
    agreement = {k: v for k, v in doors["classic"].metrics.items() if "/human_" in k}
    assert agreement and all(_same(doors["spark"].metrics[k], v) for k, v in agreement.items())


def test_toxicity_ratio_merges_as_a_share_of_scored_rows(doors) -> None:
    """Spark partitions and scorer batches weight each batch's ratio by its scored rows."""
    key = f"{PREFIX}toxicity/v1/ratio"
    assert _same(doors["spark"].metrics[key], doors["classic"].metrics[key])
    assert len(doors["scorers"]["toxicity"].batch_stats.sizes) > 1
    assert _same(doors["scorers"]["toxicity"].accounting["ratio"], doors["classic"].metrics[key])


def test_a_preset_without_targets_drops_the_same_metrics_on_both_doors(spark, tmp_path) -> None:
    rows = frame().drop(columns=["targets"])
    out = {}
    for door, data in (("classic", rows), ("spark", spark.createDataFrame(rows).repartition(2))):
        extra = {"results_table": str(tmp_path / "t")} if door == "spark" else {}
        out[door] = le.evaluate(
            data=data, predictions="predictions", model_type="question-answering", **extra
        )
        run = mlflow.get_run(out[door].run_id)
        assert run.data.tags["llm_eval.skipped_metrics"] == "exact_match/v1"
    assert sorted(out["spark"].metrics) == sorted(out["classic"].metrics)
    assert not any(k.startswith("exact_match") for k in out["classic"].metrics)
    for k, v in out["classic"].metrics.items():
        assert _same(out["spark"].metrics[k], v), k


BAD = {
    "unknown key": {"evaluator_config": {"nope": 1}},
    "mapped column missing": {
        "evaluator_config": {"col_mapping": {"sent_more": "more"}},
        "extra_metrics": [le.prompt_stereotyping(model=length_logprobs)],
    },
    "human label of an absent judge": {"evaluator_config": {"human_labels": {"fluency": "human"}}},
    "human label column missing": {"evaluator_config": {"human_labels": {"exact_match": "nah"}}},
    "bad model_input": {"evaluator_config": {"model_input": "tensor"}},
    "unknown dependency": {
        "extra_metrics": [
            make_metric(
                eval_fn=lambda predictions, nope_metric: MetricValue(
                    scores=[1.0] * len(predictions)
                ),
                greater_is_better=True,
                name="reads_nope",
            )
        ]
    },
}


@pytest.mark.parametrize("case", list(BAD))
def test_the_same_bad_configuration_gives_the_same_error(case: str, spark) -> None:
    rows = frame()
    call = {
        "targets": "targets",
        "predictions": "predictions",
        "extra_metrics": [le.exact_match()],
        **BAD[case],
    }
    errors = []
    for data in (rows, spark.createDataFrame(rows)):
        with pytest.raises((ValueError, KeyError)) as error:
            le.evaluate(data=data, **call)
        errors.append((type(error.value), str(error.value)))
    assert errors[0] == errors[1]


def test_a_derived_metric_is_refused_by_name_on_the_scorer_door() -> None:
    from mlflow_llm_eval.mlflow_adapter.mlflow_metric import MlflowMetric

    derived = MlflowMetric(
        make_metric(eval_fn=em_or_rouge, greater_is_better=True, name="em_or_rouge")
    )
    derived.dependencies = ("rougeL",)
    with pytest.raises(
        ValueError,
        match="an MLflow 3 scorer cannot run: derived metric "
        "'em_or_rouge' \\(it reads \\['rougeL'\\]\\)",
    ):
        le.scorers.make_scorer(derived)
