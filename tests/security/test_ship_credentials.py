"""The pickled Spark plan holds no credential by default (issue 17, part 7), checked on the
bytes in this process (cloudpickle only, no Spark session): the executor side fills the secret
headers from ``credentials`` or its own environment, or says what to set."""

from __future__ import annotations

import pickle

import pytest

pytest.importorskip("pyspark", reason="the [spark] extra is not installed")

import mlflow_llm_eval as le
from mlflow_llm_eval.spark_adapter.ship import dumps

ENV_KEY = "sk-driver-env-key-0123456789ab"
AZURE_KEY = "0123456789abcdef0123456789abcdef"
HEADER = "gw-secret-header-value-77"


@pytest.fixture()
def judges(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")
    openai = le.answer_similarity(
        model="openai:/m",
        progress=False,
        extra_headers={"X-Gateway-Token": HEADER, "X-Team": "evals"},
    )
    azure = le.answer_similarity(model="azure:/d", progress=False)
    return openai, azure


def test_the_default_bytes_hold_no_key_and_the_executor_fills_them(judges, monkeypatch) -> None:
    blob = dumps(
        list(judges),
        credentials=lambda: {
            "X-Gateway-Token": "from-provider-123",
            "OPENAI_API_KEY": "sk-from-provider-456",
        },
    )
    for secret in (ENV_KEY, AZURE_KEY, HEADER):
        assert secret.encode() not in blob
    assert b"X-Team" in blob and b"evals" in blob  # non-secret headers travel as they are
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "executor-azure-key-000")  # the executor's own
    openai, azure = pickle.loads(blob)
    assert openai.client._headers["Authorization"] == "Bearer sk-from-provider-456"
    assert openai.client._headers["X-Gateway-Token"] == "from-provider-123"
    assert openai.client._headers["X-Team"] == "evals"
    assert azure.client._headers["api-key"] == "executor-azure-key-000"
    assert judges[0].client._headers["Authorization"] == f"Bearer {ENV_KEY}"  # driver's untouched


def test_an_executor_without_the_key_names_what_to_set(judges, monkeypatch) -> None:
    blob = dumps(judges[1])
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    monkeypatch.delenv("AZURE_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match="AZURE_OPENAI_API_KEY or AZURE_API_KEY") as info:
        pickle.loads(blob)
    assert "credentials=" in str(info.value) and "ship_credentials=True" in str(info.value)
    assert AZURE_KEY not in str(info.value)


def test_shipping_is_opt_in(judges) -> None:
    blob = dumps(list(judges), ship_credentials=True)
    assert ENV_KEY.encode() in blob and HEADER.encode() in blob
    with pytest.raises(TypeError, match="credentials must be a callable"):
        dumps(judges[0], credentials={"OPENAI_API_KEY": "x"})


def test_a_secret_extra_header_without_a_provider_names_it(judges) -> None:
    blob = dumps(judges[0])
    with pytest.raises(RuntimeError, match="'X-Gateway-Token'") as info:
        pickle.loads(blob)
    assert HEADER not in str(info.value) and "credentials=" in str(info.value)
