"""Redaction of credentials: the broad rules for everything the package writes (artifacts,
params, tags, reasons, justifications, metric metadata, reports, log records), and only the
run's exact credentials for the user's own table cells (:func:`replace_exact`, used by
:func:`mlflow_llm_eval.mlflow_adapter.logging.redacted_table`; see ``docs/security.md``).

:func:`redact` takes any value (str, dict, list, tuple, other scalars) and returns a copy with
credentials replaced by :data:`MARKER`:

- values under a secret-looking name (dict keys, ``name=value`` / ``name: value`` pairs in
  text): names with a word ``key``, ``token``, ``secret``, ``password``, ``authorization``,
  ``auth``, ``credential``, ``cookie``, ``signature`` (``api_key``, ``X-Api-Key``, ``apiKey``,
  ``access_token``), but not counts or names (``max_tokens``, ``token_count``, ``key_name``);
- text of known key shapes: OpenAI / Anthropic ``sk-...``, ``Bearer ...`` / ``Basic ...``,
  Databricks ``dapi...``, AWS ``AKIA...``, Hugging Face ``hf_...``, GitHub, Slack and Google
  keys, JWTs, passwords in URLs (Azure keys are 32 hex digits, the shape of an MLflow run id:
  they are caught by name, ``api-key: ...``, and as environment values);
- the values of secret environment variables (``OPENAI_API_KEY``, ``AZURE_OPENAI_API_KEY``,
  any ``*KEY*``/``*TOKEN*``/``*SECRET*``/``*PASSWORD*`` variable of 8+ characters) and values
  given to :func:`register_secret` (a judge's secret header values), wherever they appear.

Records of the package's loggers (``mlflow_llm_eval.*``) are redacted by a filter on those
loggers (:func:`install_log_redaction`, done on import of the package); nothing process-wide
(the record factory, the root logger, other libraries' loggers) is changed.

    >>> redact({"api_key": "abc", "parameters": {"max_tokens": 200, "temperature": 0.0}})
    {'api_key': '[REDACTED]', 'parameters': {'max_tokens': 200, 'temperature': 0.0}}
    >>> redact("HTTP 401: bad header Authorization: Bearer sk-proj-abcdefghijklmnopqrstuv")
    'HTTP 401: bad header Authorization: [REDACTED]'
    >>> redact(["token=hunter2hunter2", "dapi0123456789abcdef0123456789abcdef", 3])
    ['token=[REDACTED]', '[REDACTED]', 3]
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MARKER = "[REDACTED]"
#: A value shorter than this is not looked for verbatim (env values, registered secrets).
MIN_SECRET_LENGTH = 8

_SECRET_WORDS = frozenset(
    {
        "key",
        "keys",
        "apikey",
        "token",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "passphrase",
        "authorization",
        "auth",
        "credential",
        "credentials",
        "cookie",
        "signature",
        "sig",
        "accesskey",
        "secretkey",
        "privatekey",
        "clientsecret",
        "accesstoken",
        "authtoken",
        "refreshtoken",
        "sessiontoken",
        "subscriptionkey",
        "bearer",
    }
)
#: Words that make a secret-looking name describe the secret instead of holding it.
_DESCRIPTOR_WORDS = frozenset(
    {
        "count",
        "counts",
        "limit",
        "limits",
        "usage",
        "type",
        "types",
        "kind",
        "name",
        "names",
        "length",
        "env",
        "var",
        "variable",
        "mode",
        "method",
        "scheme",
        "file",
        "path",
        "id",
        "ids",
        "url",
        "set",
        "present",
        "required",
    }
)
#: In running text a bare "key" is too common ("data-key", "metric key: x"): it needs a qualifier.
_KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "subscription",
        "account",
        "master",
        "service",
        "client",
        "auth",
        "encryption",
        "signing",
        "session",
        "x",
        "openai",
        "azure",
        "aws",
        "hf",
    }
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)

#: Key shapes (the whole match is replaced), and a Bearer/Basic scheme (its credential is).
_SHAPES = re.compile(
    "|".join(
        [
            r"\bsk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d*-)?[A-Za-z0-9_\-]{16,}",
            r"\bdapi[0-9a-f]{32}(?:-\d+)?\b",
            r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
            r"\bhf_[A-Za-z0-9]{30,}\b",
            r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{30,}\b",
            r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b",
            r"\bAIza[0-9A-Za-z_\-]{35}\b",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        ]
    )
)
_SCHEME = re.compile(
    r"\b([Bb]earer)\s+[A-Za-z0-9\-._~+/]{8,}=*"
    r"|\b(Basic)\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{12,}={0,2}"
)
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^/\s@]+@")
#: ``name=value``, ``name: value``, ``"name": "value"`` pairs; the value if the name is secret.
_PAIR = re.compile(
    r"""(?<![A-Za-z0-9_.\-])(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,80})(?P<sep>["']?\s*[:=]\s*["']?)"""
    r"""(?P<value>(?:Bearer\s+|Basic\s+)?[^\s"',;&<>)}\]=?]{4,})"""
)

#: Cheap pre-checks: text without any of these cannot hold a pair / a key shape / a scheme.
_PAIR_HINTS = (
    "key",
    "token",
    "secret",
    "passw",
    "pwd",
    "auth",
    "cookie",
    "sig",
    "credential",
    "bearer",
    "passphrase",
)
_SHAPE_HINTS = (
    "sk-",
    "dapi",
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",
    "hf_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "AIza",
    "eyJ",
)

#: Every hint above, and the scheme and URL checks, lower-cased: a text whose lower-cased form
#: holds none of them passes every step of :func:`redact_text` past the known values unchanged.
_ANY_HINT = tuple(
    dict.fromkeys(h.lower() for h in (*_PAIR_HINTS, *_SHAPE_HINTS, "earer", "basic", "://"))
)

_registered: set[str] = set()
_lock = threading.Lock()


def is_secret_name(name: Any) -> bool:
    """Whether a key or header name looks like it holds a credential.

    >>> [is_secret_name(n) for n in ("api_key", "X-Api-Key", "apiKey", "Authorization")]
    [True, True, True, True]
    >>> [is_secret_name(n) for n in ("max_tokens", "token_count", "key_name", "monkey")]
    [False, False, False, False]
    """
    words = [w.lower() for w in _WORD.findall(str(name))]
    return bool(_SECRET_WORDS.intersection(words)) and not _DESCRIPTOR_WORDS.intersection(words)


def _is_secret_name_in_text(name: str) -> bool:
    words = {w.lower() for w in _WORD.findall(name)}
    if not is_secret_name(name):
        return False
    return bool((words - {"key", "keys"}) & _SECRET_WORDS) or bool(words & _KEY_QUALIFIERS)


def register_secret(value: Any) -> None:
    """Redact ``value`` wherever it appears from now on (e.g. a secret header's value)."""
    if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
        with _lock:
            _registered.add(value.strip())


def register_secrets(values: Mapping[str, Any] | None) -> None:
    """Register the values of a mapping's secret-named entries (headers, parameters)."""
    for name, value in (values or {}).items():
        if is_secret_name(name):
            register_secret(value)


def credential_values(entries: Mapping[str, Any] | None) -> set[str]:
    """The exact secret values of request headers or parameters: each secret-named entry's value
    (8+ characters), and of ``Bearer <token>`` / ``Basic <token>`` the token alone too.

    >>> sorted(credential_values({"Authorization": "Bearer sk-local-0123", "X-Team": "evals",
    ...                           "api-key": "short"}))
    ['Bearer sk-local-0123', 'sk-local-0123']
    """
    found: set[str] = set()
    for name, value in (entries or {}).items():
        if not is_secret_name(name) or not isinstance(value, str):
            continue
        for candidate in (value.strip(), value.strip().partition(" ")[2].strip()):
            if len(candidate) >= MIN_SECRET_LENGTH:
                found.add(candidate)
    return found


def replace_exact(text: str, values: Sequence[str]) -> str:
    """``text`` with each of ``values`` (longest first) replaced by :data:`MARKER`, nothing else.

    The rule for the user's own cells: only the exact credentials a run uses are replaced.

    >>> replace_exact("export api_key=sk-abc123def456ghi789jkl; mine: sk-run-key-0042",
    ...               ["sk-run-key-0042"])
    'export api_key=sk-abc123def456ghi789jkl; mine: [REDACTED]'
    """
    for value in sorted(values, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, MARKER)
    return text


def known_values() -> list[str]:
    """The secret values redaction looks for: secret-named environment variables and registered values, longest first."""
    found = {
        v
        for k, v in os.environ.items()
        if len(v) >= MIN_SECRET_LENGTH and _SECRET_ENV.search(k) and not v.startswith("/")
    }
    with _lock:
        found |= _registered
    return sorted(found, key=len, reverse=True)


def _pair(match: re.Match[str]) -> str:
    value = match.group("value")  # in prose, "Key: Paris" is no credential: 8+ chars or a digit
    if not _is_secret_name_in_text(match.group("name")) or (
        len(value) < MIN_SECRET_LENGTH and not any(c.isdigit() for c in value)
    ):
        return match.group(0)
    return match.group("name") + match.group("sep") + MARKER


def redact_text(text: str, known: Iterable[str] | None = None) -> str:
    """``text`` with every credential replaced by :data:`MARKER` (see the module doc)."""
    if not text:
        return text
    for value in known_values() if known is None else known:
        if value in text:
            text = text.replace(value, MARKER)
    lowered = text.lower()
    for hint in _ANY_HINT:
        if hint in lowered:
            break
    else:  # the common cell: no step below could match
        return text
    if any(hint in lowered for hint in _PAIR_HINTS):
        text = _PAIR.sub(_pair, text)
    if "earer" in text or "Basic" in text:
        text = _SCHEME.sub(lambda m: f"{m.group(1) or m.group(2)} {MARKER}", text)
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\1{MARKER}@", text)
    if any(hint in text for hint in _SHAPE_HINTS):
        text = _SHAPES.sub(MARKER, text)
    return text


def redact(value: Any, *, _known: list[str] | None = None) -> Any:
    """A copy of ``value`` with credentials replaced, recursively through dicts, lists, tuples.

    A value under a secret-looking key is replaced whole (unless None, a bool or empty); other
    strings go through :func:`redact_text`; other scalars are returned unchanged.
    """
    known = known_values() if _known is None else _known
    if isinstance(value, str):
        return redact_text(value, known)
    if isinstance(value, Mapping):
        return {
            (redact_text(k, known) if isinstance(k, str) else k): (
                MARKER
                if is_secret_name(k) and v not in (None, "") and not isinstance(v, bool)
                else redact(v, _known=known)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [redact(v, _known=known) for v in value]
        return items if isinstance(value, list) else type(value)(items)
    return value


class RedactingFilter(logging.Filter):
    """A logger filter that redacts a record in place (message, arguments, traceback, stack).

    Attached to the package's own loggers only (:func:`install_log_redaction`): other loggers,
    the root logger, handlers and the process-wide record factory are left as they are.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string stays the handler's problem
            return True
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


_FILTER = RedactingFilter()
PACKAGE = "mlflow_llm_eval"


def _module_names() -> list[str]:
    """The dotted name of every module file of the package (found on disk, nothing imported)."""
    root = os.path.dirname(os.path.abspath(__file__))
    names = [PACKAGE]
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        parts = os.path.relpath(folder, root).split(os.sep)
        prefix = ".".join([PACKAGE, *(p for p in parts if p != ".")])
        names += [
            prefix if f == "__init__.py" else f"{prefix}.{f[:-3]}"
            for f in files
            if f.endswith(".py")
        ]
    return sorted(set(names))


def package_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the redacting filter attached (once)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


def install_log_redaction() -> None:
    """Attach :class:`RedactingFilter` to the logger of every module of the package.

    A logger's filter does not see the records of its child loggers, so each module's logger
    (``mlflow_llm_eval.<module>``, named after the files of the package) gets the filter; the
    loggers are made here, before the modules that use them are imported. Nothing outside the
    package's loggers changes: not the record factory, not the root logger, not a handler.

        >>> install_log_redaction()
        >>> _FILTER in logging.getLogger("mlflow_llm_eval.judge.engine").filters
        True
    """
    for name in _module_names():
        package_logger(name)
