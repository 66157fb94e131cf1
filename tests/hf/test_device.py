"""Device, precision and batch-size choices, without a GPU (torch.cuda / mps monkeypatched)."""

from __future__ import annotations

import pytest
import torch

from mlflow_llm_eval.hf import device as hf_device
from mlflow_llm_eval.hf.device import (
    default_batch_size,
    resolve_dtype,
    select_device,
    validate_device,
    validate_precision,
)


@pytest.mark.parametrize("spec", ["auto", "cpu", "mps", "cuda", "cuda:0", "cuda:3", " CUDA:1 "])
def test_valid_device_specs(spec):
    assert validate_device(spec) == spec.strip().lower()


@pytest.mark.parametrize("spec", ["gpu", "cuda:", "cuda:x", "tpu", "", None, 0])
def test_invalid_device_specs(spec):
    with pytest.raises(ValueError, match="device must be"):
        validate_device(spec)


def test_invalid_precision():
    with pytest.raises(ValueError, match="precision must be one of"):
        validate_precision("int4")


def _fake_hardware(monkeypatch, *, cuda: bool, mps: bool, count: int = 1):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count if cuda else 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda:0"), (True, False, "cuda:0"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    _fake_hardware(monkeypatch, cuda=cuda, mps=mps)
    assert str(select_device("auto")) == expected


def test_explicit_devices(monkeypatch):
    _fake_hardware(monkeypatch, cuda=True, mps=False, count=2)
    assert str(select_device("cuda:1")) == "cuda:1"
    assert str(select_device("cuda")) == "cuda:0"
    assert str(select_device("cpu")) == "cpu"
    with pytest.raises(ValueError, match="only 2 CUDA device"):
        select_device("cuda:2")
    with pytest.raises(ValueError, match="MPS is not available"):
        select_device("mps")


def test_missing_cuda_is_an_error_not_a_silent_cpu(monkeypatch):
    _fake_hardware(monkeypatch, cuda=False, mps=False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        select_device("cuda:0")


@pytest.mark.parametrize(("bf16", "expected"), [(True, torch.bfloat16), (False, torch.float16)])
def test_auto_precision_is_half_on_cuda(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert resolve_dtype(torch.device("cuda", 0), "auto") == expected
    assert resolve_dtype(torch.device("cuda", 0), "fp32") == torch.float32


def test_precision_on_cpu_and_mps():
    assert resolve_dtype("cpu") == torch.float32
    assert resolve_dtype("mps") == torch.float32
    assert resolve_dtype("cpu", "bf16") == torch.bfloat16
    with pytest.raises(ValueError, match="fp16.*not supported on CPU"):
        resolve_dtype("cpu", "fp16")


def test_default_batch_sizes():
    assert default_batch_size(torch.device("cpu")) == hf_device.DEFAULT_BATCH_SIZES["cpu"]
    assert default_batch_size("cuda:1") == hf_device.DEFAULT_BATCH_SIZES["cuda"]
    assert default_batch_size("mps") == hf_device.DEFAULT_BATCH_SIZES["mps"]
    assert default_batch_size("cuda") > default_batch_size("cpu")
