"""The fake endpoints of tests/support on their shared plumbing (support/local_server.py): their
docstring examples, the command lines the benchmarks start (first stdout line = base URL,
``/_stats``, ``/_reset``), and the plain import FMEval's environment does."""

from __future__ import annotations

import doctest
import importlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parents[1] / "support"


@pytest.mark.parametrize(
    "name",
    [
        "support.local_server",
        "support.fake_openai",
        "support.fake_completions",
        "support.echo_gateway",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def _post(url: str, body: dict | bytes) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST")) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _chat(base_url: str, content: str) -> tuple[int, dict]:
    return _post(
        f"{base_url}/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": content}]},
    )


@pytest.fixture()
def run_script(tmp_path: Path):
    started: list[subprocess.Popen] = []

    def run(script: str, *args: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, str(SUPPORT / script), *args],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc.stdout.readline().strip()

    yield run
    for proc in started:
        proc.terminate()
        proc.wait(timeout=30)


def test_fake_openai_runs_as_its_own_process(run_script) -> None:
    base_url = run_script("fake_openai.py", "--server-error", "1.0")
    root = base_url.removesuffix("/v1")
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
    assert _chat(base_url, "grade this")[0] == 500
    stats = json.load(urllib.request.urlopen(f"{root}/_stats"))
    assert (stats["requests"], stats["statuses"], stats["faults"]) == (
        1,
        {"500": 1},
        {"server_error": 1},
    )
    assert _post(f"{root}/_reset", {"server_error": 0.0})[1]["requests"] == 0  # new fault plan
    status, answer = _chat(base_url, "grade this")
    assert status == 200 and json.loads(answer["choices"][0]["message"]["content"])[
        "score"
    ] in range(1, 6)
    assert _post(f"{base_url}/chat/completions", b"not json")[0] == 400
    assert _post(f"{base_url}/embeddings", {})[0] == 404


def test_the_genai_variant_answers_mlflow_s_format_with_the_same_command_line(run_script) -> None:
    base_url = run_script("fake_openai_genai.py", "--latency", "0.0")
    status, answer = _chat(base_url, 'answer as {"rationale": ..., "result": "yes|no"}')
    assert status == 200
    assert json.loads(answer["choices"][0]["message"]["content"])["result"] in ("yes", "no")
    stats = json.load(urllib.request.urlopen(base_url.removesuffix("/v1") + "/_stats"))
    assert stats["requests"] == 1


def test_the_completions_server_imports_from_its_own_folder(tmp_path: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import fake_completions as f; "
        "print(f.completion_body({'prompt': 'a b', 'echo': True, 'logprobs': 1})"
        "['usage']['prompt_tokens'], 'support' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(SUPPORT)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out == ["2", "False"]  # found its plumbing next to it, not through the tests package


def test_stats_and_reset_of_the_smaller_servers() -> None:
    from support.echo_gateway import EchoGateway
    from support.fake_completions import FakeCompletions

    with EchoGateway() as gateway, FakeCompletions(rate_limit_first=1) as completions:
        assert _chat(gateway.base_url, "REJECT")[0] == 401
        assert _post(f"{completions.base_url}/completions", {"prompt": "a"})[0] == 429
        assert _post(f"{completions.base_url}/completions", {"prompt": "a"})[0] == 200
        assert json.load(urllib.request.urlopen(gateway.url + "/_stats")) == {"requests": 1}
        assert _post(completions.url + "/_reset", b"")[1] == {"requests": 0}
        assert completions.statuses == [] and len(gateway.requests) == 1
