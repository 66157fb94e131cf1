"""Loading by local directory, MLflow URI (runs:/, models:/) and hub name (offline error); cache."""

from __future__ import annotations

import shutil

import pytest
import torch

from mlflow_llm_eval.hf import encode_texts, max_input_length
from mlflow_llm_eval.hf.loading import (
    HOW_TO_PROVIDE,
    ModelUnavailableError,
    check_source,
    clear_model_cache,
    component_dirs,
    load_model,
    source_kind,
)

TEXTS = ["I hate you", "a nice day in Paris", "x " * 300]


def _logits(loaded, texts=TEXTS):
    from mlflow_llm_eval.hf import collate

    batch = collate(
        loaded.tokenizer, encode_texts(loaded.tokenizer, texts, loaded.max_length), loaded.device
    )
    with torch.inference_mode():
        return loaded.model(**batch).logits


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("runs:/abc/model", "mlflow"),
        ("models:/tox/3", "mlflow"),
        ("unitary/toxic-bert", "hub"),
        ("/abs/dir", "local"),
        ("./rel", "local"),
        ("~/m", "local"),
        ("C:\\models", "local"),
    ],
)
def test_source_kind(source, kind):
    assert source_kind(source) == kind


def test_missing_local_path_fails_without_loading():
    with pytest.raises(ModelUnavailableError, match="no such directory") as info:
        check_source("/definitely/not/here")
    assert HOW_TO_PROVIDE in str(info.value)
    with pytest.raises(ValueError, match="non-empty string"):
        check_source("")


def test_offline_hub_name_names_the_three_ways(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as info:
        load_model("no-such-org/no-such-model-xyz", device="cpu")
    message = str(info.value)
    assert "no-such-org/no-such-model-xyz" in message
    for way in ("Hugging Face Hub name", "local directory", "runs:/<run_id>/model", "models:/"):
        assert way in message


def test_unreachable_hub_fails_fast_not_after_retries(monkeypatch):
    """Not offline by configuration, but no network: one connect attempt, then the clear error."""
    import socket
    import time

    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="unreachable") as info:
        load_model("no-such-org/not-cached-model", device="cpu")
    assert time.monotonic() - started < 10
    assert HOW_TO_PROVIDE in str(info.value)


def test_directory_without_a_model(tmp_path):
    with pytest.raises(ModelUnavailableError, match="no config.json"):
        load_model(str(tmp_path), device="cpu")


def test_local_directory_is_loaded_once_and_cached(tiny_classifier_dir):
    first = load_model(str(tiny_classifier_dir), device="cpu")
    again = load_model(str(tiny_classifier_dir) + "/", device="auto")  # auto is CPU here
    assert first is again
    assert first.max_length == 64 and first.dtype == torch.float32 and not first.model.training
    clear_model_cache()
    reloaded = load_model(str(tiny_classifier_dir), device="cpu")
    assert reloaded is not first
    torch.testing.assert_close(_logits(reloaded), _logits(first))


def test_encoder_for_feature_extraction(tiny_encoder_dir):
    loaded = load_model(str(tiny_encoder_dir), task="feature-extraction", device="cpu")
    assert type(loaded.model).__name__ == "RobertaModel"


def test_int8_quantisation_replaces_linear_layers(tiny_classifier_dir):
    plain = load_model(str(tiny_classifier_dir), device="cpu")
    quantized = load_model(str(tiny_classifier_dir), device="auto", quantize="int8")
    assert quantized is not plain and quantized.quantize == "int8"
    kinds = {type(m).__module__ for m in quantized.model.modules()}
    assert any("quantized" in k for k in kinds)
    assert not any("quantized" in type(m).__module__ for m in plain.model.modules())
    with pytest.raises(ValueError, match="int8.*CPU"):
        load_model(str(tiny_classifier_dir), device="cuda", quantize="int8")


def test_truncation_is_flagged_at_the_model_limit(tiny_classifier_dir):
    loaded = load_model(str(tiny_classifier_dir), device="cpu")
    encoded = encode_texts(
        loaded.tokenizer, ["short", "word " * 500, "z" * 2_000_000], loaded.max_length
    )
    assert [e.truncated for e in encoded] == [False, True, True]
    assert encoded[1].length == encoded[2].length == loaded.max_length
    expected = loaded.tokenizer("word " * 500, truncation=True, max_length=64)["input_ids"]
    assert encoded[1].features["input_ids"] == expected


def test_max_input_length_accounts_for_roberta_position_offset():
    class Tok:
        model_max_length = int(1e30)  # "unset" in transformers

    class Cfg:
        max_position_embeddings, model_type = 514, "roberta"

    assert max_input_length(Tok(), Cfg()) == 512


def test_mlflow_saved_directory_layout(tmp_path, tiny_classifier_dir):
    root = tmp_path / "mlflow_model"
    shutil.copytree(tiny_classifier_dir, root / "model", ignore=shutil.ignore_patterns("tok*"))
    shutil.copytree(
        tiny_classifier_dir,
        root / "components" / "tokenizer",
        ignore=shutil.ignore_patterns("model*", "config.json"),
    )
    assert component_dirs(root) == (root / "model", root / "components" / "tokenizer")
    loaded = load_model(str(root), device="cpu")
    torch.testing.assert_close(_logits(loaded), _logits(load_model(str(tiny_classifier_dir))))


@pytest.fixture()
def logged_run(mlflow_store, tmp_path, tiny_classifier_dir):
    """The tiny model logged two ways to the sqlite store (artifacts under tmp_path)."""
    import mlflow
    import transformers

    experiment = mlflow.create_experiment(
        f"hf-{tmp_path.name}", artifact_location=tmp_path.as_uri()
    )
    components = {
        "model": transformers.AutoModelForSequenceClassification.from_pretrained(
            tiny_classifier_dir
        ),
        "tokenizer": transformers.AutoTokenizer.from_pretrained(tiny_classifier_dir),
    }
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_artifacts(str(tiny_classifier_dir), "plain_model")
        info = mlflow.transformers.log_model(
            components,
            name="tox",
            task="text-classification",
            pip_requirements=["transformers", "torch"],
        )
    return run.info.run_id, info.model_uri


def test_load_by_mlflow_uris(logged_run, tiny_classifier_dir):
    import mlflow

    run_id, model_uri = logged_run
    reference = _logits(load_model(str(tiny_classifier_dir), device="cpu"))
    version = mlflow.register_model(model_uri, f"tiny-tox-{run_id[:8]}").version
    for uri in (
        f"runs:/{run_id}/plain_model",
        model_uri,
        f"models:/tiny-tox-{run_id[:8]}/{version}",
    ):
        loaded = load_model(uri, device="cpu")
        assert loaded.source == uri
        torch.testing.assert_close(_logits(loaded), reference)


def test_unknown_mlflow_uri_names_the_three_ways(mlflow_store):
    with pytest.raises(ModelUnavailableError, match="MLflow could not download it") as info:
        load_model("runs:/0123456789abcdef0123456789abcdef/model", device="cpu")
    assert HOW_TO_PROVIDE in str(info.value)
