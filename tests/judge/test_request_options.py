"""One RequestOptions for every caller of the request engine: the same keywords, defaults and
errors on ChatEngine, judge metrics, the pairwise judge and endpoint models, and the options
given reach the engine that sends the requests."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from support.fake_openai import FakeOpenAI, Faults

import mlflow_llm_eval as le
from mlflow_llm_eval.chat import MODEL_UNDER_TEST, ChatEngine, RequestOptions, make_client
from mlflow_llm_eval.chat import engine as chat_engine
from mlflow_llm_eval.judge.endpoint_model import EndpointModel
from mlflow_llm_eval.judge.pairwise import PairwiseJudge

JUDGE = "openai:/judge"
BUILDERS = {
    "engine": lambda **kw: ChatEngine(make_client(JUDGE, timeout=5), **kw),
    "metric": lambda **kw: le.answer_similarity(model=JUDGE, **kw),
    "pairwise": lambda **kw: PairwiseJudge(model=JUDGE, **kw),
    "endpoint model": lambda **kw: EndpointModel.from_uri("openai:/m", **kw),
}


@pytest.fixture(autouse=True)
def _env(judge_env: FakeOpenAI) -> FakeOpenAI:
    return judge_env


@pytest.mark.parametrize("builder", BUILDERS.values(), ids=BUILDERS.keys())
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rpm": 0}, ValueError, "rpm must be a positive number or None, got 0"),
        ({"tpm": "lots"}, ValueError, "tpm must be a positive number or None, got 'lots'"),
        ({"deadline": -1}, ValueError, "deadline must be a positive number or None"),
        ({"breaker_threshold": 0}, ValueError, "breaker_threshold must be an integer >= 1, got 0"),
        ({"max_attempts": 2.5}, ValueError, "max_attempts must be an integer >= 1"),
        ({"retry_budget": -0.1}, ValueError, "retry_budget must be a number >= 0"),
        ({"max_workers": 0}, ValueError, "max_workers must be an integer >= 1"),
        ({"concurrency": True}, ValueError, "concurrency must be an integer >= 1, got True"),
        ({"max_retries": 3}, TypeError, "unexpected keyword argument 'max_retries'"),
        ({"max_workers": 2, "max_concurrency": 3}, TypeError, "same option"),
        ({"request_options": {"rpm": 60}}, TypeError, "request_options must be a RequestOptions"),
    ],
)
def test_every_caller_checks_the_options_the_same_way(builder, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        builder(**kwargs)


def test_one_set_of_defaults_and_the_model_under_test_differs_in_one_place() -> None:
    judges = [BUILDERS[name]().request_options for name in ("engine", "metric", "pairwise")]
    assert judges == [RequestOptions()] * 3
    assert (RequestOptions().max_concurrency, RequestOptions().initial_concurrency) == (256, 32)
    model = BUILDERS["endpoint model"]()
    assert model.request_options == MODEL_UNDER_TEST
    assert (model.concurrency, model.initial_concurrency) == (64, 8)
    differing = {
        f.name
        for f in dataclasses.fields(RequestOptions)
        if getattr(MODEL_UNDER_TEST, f.name) != getattr(RequestOptions(), f.name)
    }
    assert differing == {"max_concurrency", "initial_concurrency"}


@pytest.mark.parametrize("name", ["metric", "pairwise", "endpoint model"])
def test_request_options_object_with_keywords_on_top(name: str) -> None:
    given = RequestOptions(max_concurrency=12, rpm=60, deadline=30, timeout=7)
    built = BUILDERS[name](request_options=given, tpm=9000, max_attempts=2)
    assert built.request_options == dataclasses.replace(given, tpm=9000.0, max_attempts=2)
    assert (built.max_concurrency, built.rpm, built.tpm, built.deadline) == (12, 60, 9000, 30)
    assert built.client.timeout == 7  # the timeout reaches the client built from the options
    with pytest.raises(AttributeError):
        built.rpm = 10  # read-only views: set request_options instead


def test_a_built_client_keeps_its_own_timeout() -> None:
    with pytest.raises(TypeError, match="timeout= belongs to the endpoint client"):
        ChatEngine(make_client(JUDGE, timeout=5), timeout=9)
    with pytest.raises(TypeError, match="timeout= belongs to the endpoint client"):
        EndpointModel(make_client("openai:/m", timeout=5), timeout=9)


@pytest.fixture()
def engines(monkeypatch: pytest.MonkeyPatch) -> list[RequestOptions]:
    """The request options of every ChatEngine built while the test runs."""
    seen: list[RequestOptions] = []
    original = chat_engine.ChatEngine.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self.request_options)

    monkeypatch.setattr(chat_engine.ChatEngine, "__init__", spy)
    return seen


def test_the_pairwise_judge_takes_every_request_option(judge_env: FakeOpenAI, engines) -> None:
    judge_env.reset(Faults(server_error=1.0))  # every request fails: only max_attempts bounds it
    judge = le.pairwise_preference(
        model=JUDGE,
        cache=False,
        n_bootstrap=0,
        max_attempts=1,
        rpm=6000,
        tpm=600_000,
        deadline=60,
        breaker_threshold=50,
    )
    result = judge.compare({"a": ["x", "y"], "b": ["z", "w"]}, inputs=["i0", "i1"])
    assert judge_env.stats()["requests"] == 4  # 2 rows x 2 orders, each sent once
    assert {v.status for v in result.verdicts} == {"server_error"}
    assert engines == [
        RequestOptions(max_attempts=1, rpm=6000, tpm=600_000, deadline=60, breaker_threshold=50)
    ]


def test_judge_metric_and_endpoint_model_hand_their_options_to_the_engine(
    judge_env: FakeOpenAI, engines
) -> None:
    judge_env.responder = lambda prompt: '{"score": 3, "justification": "ok"}'
    metric = le.answer_similarity(model=JUDGE, max_workers=3, rpm=6000, cache=False, progress=False)
    metric.score_batch({"predictions": ["a"], "inputs": ["q"], "targets": ["a"]})
    model = EndpointModel.from_uri("openai:/m", concurrency=2, deadline=60, progress=False)
    assert model(pd.DataFrame({"q": ["hi"]})) == ['{"score": 3, "justification": "ok"}']
    assert engines == [
        RequestOptions(max_concurrency=3, rpm=6000),
        dataclasses.replace(MODEL_UNDER_TEST, max_concurrency=2, deadline=60),
    ]
    assert judge_env.stats()["peak_concurrency"] <= 3


def test_public_and_config_names_come_from_the_one_dataclass() -> None:
    from mlflow_llm_eval.config.request_keys import REQUEST_KEYS, JudgeRequestKeys

    assert le.RequestOptions is RequestOptions
    names = [f.name for f in dataclasses.fields(RequestOptions)]
    assert list(REQUEST_KEYS) == [n for n in names if n != "max_concurrency"]
    assert set(JudgeRequestKeys.model_fields) == {"max_workers", *REQUEST_KEYS}
