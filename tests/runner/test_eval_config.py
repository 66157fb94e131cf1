"""Config validation: every problem names its key and the YAML line; paths; secrets; metrics."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from mlflow_llm_eval.config import ConfigError, load_config
from mlflow_llm_eval.runner.data import load_data

DATA = '{"id": 1, "question": "q1", "answer": "a1"}\n{"id": 2, "question": "q2", "answer": "a2"}\n'


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "qa.jsonl").write_text(DATA)
    (tmp_path / "data" / "preds.jsonl").write_text(
        '{"id": 2, "predictions": "a2"}\n{"id": 1, "predictions": "x"}\n'
    )
    (tmp_path / "my_models.py").write_text("def answer(df):\n    return list(df['question'])\n")
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "eval.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems(path: Path | dict, **kwargs) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)
    return [(i.line, i.path, i.message) for i in info.value.issues]


def test_a_valid_config_resolves_paths_against_its_own_folder(folder: Path, monkeypatch) -> None:
    path = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question, targets: answer}
        models:
          - {name: static, predictions: data/preds.jsonl, key: id}
          - {name: mine, python: "my_models:answer"}
        metrics: [exact_match, {name: rougeL}]
        select: {maximize: rougeL/v1/mean}
        """,
    )
    monkeypatch.chdir("/")  # not the config's folder
    loaded = load_config(path)
    assert loaded.config.dataset.path == folder / "data" / "qa.jsonl"
    assert loaded.config.models[0].predictions == folder / "data" / "preds.jsonl"
    assert loaded.metrics.keys == ["exact_match/v1", "rougeL/v1"]
    assert loaded.metrics.callables["mine"](pd.DataFrame({"question": ["hi"]})) == ["hi"]
    # default tie-breakers: the other metrics' means in their own direction
    assert [str(t) for t in loaded.metrics.tie_breakers] == ["maximize exact_match/v1/mean"]
    assert load_data(loaded).frame["question"].tolist() == ["q1", "q2"]


def test_schema_errors_name_the_key_and_the_line(folder: Path) -> None:
    path = write(
        folder,
        """
        experiment: x
        dataset: {path: data/qa.jsonl, inputs: question, targets: answer}
        models:
          - name: ok
            uri: runs:/abc/model
          - name: typo
            endpoint: openai:/gpt-4o-mini
            promt_template: "Answer: {question}"
          - name: neither
          - name: missing-file
            predictions: nowhere.jsonl
        select:
          maximize: exact_match/v1/mean
          constraints: ["latency/v1/p90 < 2.0", "latency is small"]
        max_workers: 0
        """,
    )
    found = problems(path)
    assert (
        8,
        "models[1].promt_template",
        "unknown key 'promt_template' (did you mean 'prompt_template'?); allowed keys: "
        "initial_concurrency, max_attempts, retry_budget, wait_budget, max_wait, "
        "backoff_base, backoff_max, timeout, rpm, tpm, deadline, breaker_threshold, "
        "name, uri, endpoint, predictions, python, prompt_template, params, output_column, "
        "key, latency_column, concurrency",
    ) in found
    assert (
        9,
        "models[2]",
        "model 'neither' needs exactly one of uri, endpoint, predictions, python (found none)",
    ) in found
    lines = {p: line for line, p, _ in found}
    assert lines["models[3].predictions"] == 11
    assert lines["select.constraints[1]"] == 14
    assert lines["max_workers"] == 15
    assert [line for line, _, _ in found] == sorted(line for line, _, _ in found)


def test_cross_reference_errors_name_the_key_and_the_line(folder: Path) -> None:
    path = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question, targets: answer}
        models:
          - {name: a, python: "my_models:answer"}
          - {name: a, python: "my_models:nope"}
        metrics:
          - exact_match
          - rouge9
          - {name: exact_match, strip: true}
        select:
          maximize: exact_match/v1/mena
          constraints: ["toxicity/v1/ratio < 0.1"]
        register: {name: qa-best}
        """,
    )
    found = {p: (line, message) for line, p, message in problems(path)}
    assert found["models[1].name"] == (4, "model name 'a' is already used by models[0]")
    assert found["models[1].python"][0] == 4 and "nope" in found["models[1].python"][1]
    assert found["metrics[1]"][0] == 7 and "unknown metric 'rouge9'" in found["metrics[1]"][1]
    assert found["metrics[2]"] == (8, "metric 'exact_match/v1' is already listed at metrics[0]")
    assert found["select.maximize"] == (
        10,
        "'exact_match/v1/mena': unknown aggregation 'mena'; did you mean 'mean'?",
    )
    assert found["select.constraints[0]"][0] == 11
    assert (
        "'toxicity/v1/ratio' is not a run metric of this config"
        in found["select.constraints[0]"][1]
    )


def test_register_needs_a_select_rule(folder: Path) -> None:
    path = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question}
        models: [{name: a, python: "my_models:answer"}]
        metrics: [rougeL]
        register: {name: qa-best}
        """,
    )
    assert problems(path) == [
        (4, "register", "register needs a select: rule to choose the model to register")
    ]


@pytest.mark.parametrize(
    "line",
    [
        "    api_key: sk-abcdefghijklmnopqrstuvwx",
        "    params: {OPENAI_API_KEY: x}",
        "    prompt_template: sk-abcdefghijklmnopqrstuvwxyz0123",
    ],
)
def test_secrets_in_the_file_are_refused(folder: Path, line: str) -> None:
    path = write(
        folder,
        "\n".join(
            [
                "dataset: {path: data/qa.jsonl, inputs: question}",
                "models:",
                "  - name: gpt",
                "    endpoint: openai:/gpt-4o-mini",
                line,
                "metrics: [rougeL]",
            ]
        ),
    )
    found = problems(path)
    assert len(found) == 1
    assert found[0][0] == 5
    assert "environment" in found[0][2]


def test_inference_params_are_not_secrets(folder: Path) -> None:
    path = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question}
        models:
          - {name: gpt, endpoint: "openai:/gpt-4o-mini", params: {max_tokens: 64, temperature: 0}}
        metrics: [rougeL]
        """,
    )
    assert load_config(path).config.models[0].params == {"max_tokens": 64, "temperature": 0}


def test_yaml_syntax_errors_and_duplicate_keys_have_lines(folder: Path) -> None:
    broken = write(folder, "dataset: {path: data/qa.jsonl\nmodels: []\n")
    [(line, where, message)] = problems(broken)
    assert where == "<yaml>" and line == 2 and message
    duplicated = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question}
        models: [{name: a, python: "my_models:answer"}]
        metrics: [rougeL]
        metrics: [exact_match]
        """,
    )
    assert problems(duplicated) == [(4, "metrics", "duplicate key (line 4); keep one")]


def test_a_dict_config_resolves_paths_against_base_dir(folder: Path) -> None:
    config = {
        "dataset": {"path": "data/qa.jsonl", "inputs": "question"},
        "models": [{"name": "f", "python": lambda df: list(df["question"])}],
        "metrics": ["exact_match"],
    }
    loaded = load_config(config, base_dir=folder)
    assert loaded.config.dataset.path == folder / "data" / "qa.jsonl"
    [(line, where, message)] = problems(config, base_dir=folder / "data")
    assert line is None and where == "dataset.path" and message.startswith("file not found")


def test_data_columns_are_checked_with_lines(folder: Path) -> None:
    path = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question, targets: answer}
        models:
          - name: gpt
            endpoint: openai:/gpt-4o-mini
            prompt_template: "Topic {topic}: {question}"
        metrics: [rougeL]
        """,
    )
    loaded = load_config(path)
    with pytest.raises(ConfigError) as info:
        load_data(loaded)
    [issue] = info.value.issues
    assert (issue.line, issue.path) == (5, "models[0].prompt_template")
    assert "column 'topic' is not in the dataset" in issue.message


def test_judge_options_reach_judge_metrics_only(folder: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    path = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question, targets: answer}
        models: [{name: a, python: "my_models:answer"}]
        metrics: [exact_match, answer_correctness]
        judge: {model: "openai:/gpt-4o-mini"}
        select: {maximize: answer_correctness/v1/mean}
        """,
    )
    plan = load_config(path).metrics
    assert plan.specs == [
        ("exact_match", {}),
        ("answer_correctness", {"model": "openai:/gpt-4o-mini"}),
    ]
    assert [m.key for m in plan.fresh_metrics()] == ["exact_match/v1", "answer_correctness/v1"]


def test_request_keys_reach_the_judges_and_are_checked_at_load(folder: Path, monkeypatch) -> None:
    from mlflow_llm_eval.runner.pairwise_step import build_judge

    monkeypatch.setenv("OPENAI_API_KEY", "sk-config-test-0000")  # no request is sent

    path = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question, targets: answer}
        models:
          - {name: m, endpoint: "openai:/m", rpm: 60, tpm: 20000, max_attempts: 2, timeout: 9}
        metrics: [answer_similarity]
        judge: {model: "openai:/judge", max_workers: 8, rpm: 120, tpm: 50000, breaker_threshold: 2}
        compare: {pairwise: {deadline: 300, rpm: 30}}
        """,
    )
    loaded = load_config(path)
    judge = loaded.metrics.metrics[0]
    assert (judge.max_concurrency, judge.rpm, judge.tpm, judge.breaker_threshold) == (
        8,
        120,
        50000,
        2,
    )
    pairwise = build_judge(loaded)
    assert (pairwise.max_concurrency, pairwise.rpm, pairwise.tpm, pairwise.deadline) == (
        8,
        30,
        50000,
        300,
    )  # its own keys over judge:'s
    assert loaded.config.models[0].request_options() == {
        "rpm": 60,
        "tpm": 20000,
        "max_attempts": 2,
        "timeout": 9,
    }

    path = write(
        folder,
        """
        dataset: {path: data/qa.jsonl, inputs: question, targets: answer}
        models:
          - {name: m, endpoint: "openai:/m", rpm: 0}
          - {name: p, python: "my_models:answer", tpm: 100}
        metrics: [answer_similarity]
        judge: {model: "openai:/judge", max_workers: 0, deadline: soon}
        compare: {pairwise: {breaker_threshold: 1.5}}
        """,
    )
    found = problems(path)
    assert (3, "models[0].rpm", "rpm must be a positive number or None, got 0") in found
    assert (4, "models[1]", "model 'p' (python) does not take tpm") in found
    assert (6, "judge.max_workers", "max_workers must be an integer >= 1, got 0") in found
    assert (6, "judge.deadline", "deadline must be a positive number or None, got 'soon'") in found
    assert (
        7,
        "compare.pairwise.breaker_threshold",
        "breaker_threshold must be an integer >= 1, got 1.5",
    ) in found
