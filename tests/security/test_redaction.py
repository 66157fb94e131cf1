"""The one redaction function: what it replaces, and what it must leave alone."""

from __future__ import annotations

import logging

import pytest

from mlflow_llm_eval.redaction import MARKER, is_secret_name, redact, redact_text, register_secret

RUN_ID = "a80ec7f5e84d448797352267f140bf63"  # 32 hex digits, like an Azure key: must survive
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz0123", f"key {MARKER}"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwx", MARKER),
        ("Authorization: Bearer abc.def-ghi_jkl", f"Authorization: {MARKER}"),
        ("the header was bearer 0123456789abcdef", f"the header was bearer {MARKER}"),
        ("Basic dXNlcjpwYXNzd29yZA==", f"Basic {MARKER}"),
        ("token dapi0123456789abcdef0123456789abcdef-2 expired", f"token {MARKER} expired"),
        ("AWS AKIAIOSFODNN7EXAMPLE denied", f"AWS {MARKER} denied"),
        ("hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", MARKER),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", MARKER),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXh5eg", f"jwt {MARKER}"),
        ('{"api_key": "abc123secret", "model": "m"}', f'{{"api_key": "{MARKER}", "model": "m"}}'),
        (
            "https://gw.example/v1?api-key=0a1b2c3d4e5f&x=1",
            f"https://gw.example/v1?api-key={MARKER}&x=1",
        ),
        (
            "api-key: 0123456789abcdef0123456789abcdef",
            f"api-key: {MARKER}",
        ),  # an Azure key, by name
        ("https://user:hunter2@host/path", f"https://user:{MARKER}@host/path"),
        ("password=hunter22", f"password={MARKER}"),
    ],
)
def test_credentials_in_text_are_replaced(text: str, expected: str):
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"run {RUN_ID} of experiment 3",
        f"dataset sha256 {SHA256}",
        "max_tokens: 200, prompt_tokens=1234, token_count/v1/mean: 12.5",
        "The key: Paris is the capital. Key points: the answer is complete.",
        "Basic arithmetic is correct; the bearer of the news was right.",
        '<td data-key="toxicity/v1/mean" data-value="0.5">',
        "The task-specific answer",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    ],
)
def test_ordinary_text_is_left_alone(text: str):
    assert redact_text(text) == text


def test_structures_are_redacted_recursively_by_key_name_and_value():
    value = {
        "parameters": {"temperature": 0.0, "max_tokens": 200, "api_key": "short"},
        "headers": [{"X-Api-Key": "v"}, ("Bearer abcdefgh12345678", 3)],
        "token_count": 5,
        "use_auth": True,
        "password": None,
        "credentials": {"user": "me", "pass": "x"},
        7: "seven",
    }
    assert redact(value) == {
        "parameters": {"temperature": 0.0, "max_tokens": 200, "api_key": MARKER},
        "headers": [{"X-Api-Key": MARKER}, (f"Bearer {MARKER}", 3)],
        "token_count": 5,
        "use_auth": True,
        "password": None,
        "credentials": MARKER,
        7: "seven",
    }


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True),
        ("OPENAI_API_KEY", True),
        ("apiKey", True),
        ("APIKEY", True),
        ("X-Gateway-Token", True),
        ("authorization", True),
        ("Cookie", True),
        ("db_password", True),
        ("client_secret", True),
        ("aws_secret_access_key", True),
        ("api_keys", True),
        ("max_tokens", False),
        ("prompt_tokens", False),
        ("token_count", False),
        ("keyword", False),
        ("monkey", False),
        ("key_name", False),
        ("api_key_env", False),
        ("auth_type", False),
        ("extra_header_names", False),
        ("temperature", False),
    ],
)
def test_secret_names(name: str, secret: bool):
    assert is_secret_name(name) is secret


def test_environment_and_registered_secrets_are_replaced_wherever_they_appear(monkeypatch):
    monkeypatch.setenv("MY_GATEWAY_TOKEN", "plainvalue-no-shape-1")
    monkeypatch.setenv("MY_SETTING", "plainvalue-not-secret")
    register_secret("registered-header-value")
    text = "got plainvalue-no-shape-1 and plainvalue-not-secret and registered-header-value"
    assert redact_text(text) == f"got {MARKER} and plainvalue-not-secret and {MARKER}"


def test_package_log_records_are_redacted_and_others_untouched(caplog):
    import mlflow_llm_eval  # noqa: F401 - installs the record factory

    caplog.set_level(logging.DEBUG)
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
    ours = logging.getLogger("mlflow_llm_eval.judge.engine")
    try:
        raise RuntimeError(f"HTTP 401: Authorization: Bearer {key}")
    except RuntimeError:
        ours.warning("row failed: %s", f"key={key}", exc_info=True)
    logging.getLogger("somebody.else").warning("theirs %s", key)
    # only the two loggers of this test (a client closed by the GC may log meanwhile)
    mine, theirs = [
        r for r in caplog.records if r.name in ("mlflow_llm_eval.judge.engine", "somebody.else")
    ]
    assert mine.getMessage() == f"row failed: key={MARKER}" and key not in mine.exc_text
    assert "RuntimeError: HTTP 401" in mine.exc_text
    assert theirs.getMessage() == f"theirs {key}"  # other loggers are not ours to change
    assert key not in caplog.text.split("theirs")[0]
