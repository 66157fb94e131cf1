"""Sentence log-probabilities from a language model: a local causal LM or a completions endpoint.

A sentence's log-probability is the **sum of its tokens' log-probs** (FMEval's model runners
return that: its JSON and JumpStart extractors ``sum`` the per-token input log-probs):

- a local transformers causal LM (a Hub name, a directory, or an MLflow model URI; loaded
  with :func:`mlflow_llm_eval.hf.loading.load_model`): the text is tokenised without special
  tokens and the tokenizer's BOS token is put first when it has one (as FMEval's Hugging Face
  runner example does), so every token of the text is scored given what precedes it; rows
  are batched by length, right-padded;
- an OpenAI-compatible **completions** endpoint that echoes the prompt with its log-probs
  (vLLM, ``openai:/<model>`` with ``OPENAI_BASE_URL`` pointing at it): one request per text,
  ``echo=true, logprobs=1, max_tokens=1, temperature=0``; the prompt's tokens are the first
  ``usage.prompt_tokens`` entries (else those whose ``text_offset`` lies inside the prompt) and
  their log-probs are summed (the first is ``None`` when nothing precedes it). The requests go
  through the judges' engine and cache (limits, retries on 429/5xx, budgets);
- a callable ``list[str] -> list[float]`` (your own scorer).

    >>> model = as_logprob_model(lambda texts: [-1.5 * len(t.split()) for t in texts])
    >>> [r.value for r in model(["a b", "c"])]
    [-3.0, -1.5]
    >>> prompt_logprob({"choices": [{"logprobs": {"token_logprobs": [None, -1.0, -0.5, -2.0],
    ...     "text_offset": [0, 1, 3, 5]}}], "usage": {"prompt_tokens": 3}}, "a b c")
    (-1.5, 3)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from mlflow_llm_eval.chat.endpoints import OpenAIChatClient, parse_model_uri
from mlflow_llm_eval.chat.schemes import COMPLETIONS_SCHEMES, is_endpoint_uri
from mlflow_llm_eval.chat.types import Completion

#: Sent with every completions request (``parameters`` adds to or replaces them).
COMPLETION_PARAMETERS: dict[str, Any] = {
    "echo": True,
    "logprobs": 1,
    "max_tokens": 1,
    "temperature": 0.0,
}
LOGPROB_SCALE = (-math.inf, 0.0)


class LogProb(NamedTuple):
    """A text's log-probability, or why there is none (``status``/``reason``)."""

    value: float | None
    status: str = "ok"
    reason: str | None = None


LogProbModel = Callable[[list[str]], list[LogProb]]


def prompt_logprob(response: Any, prompt: str) -> tuple[float, int]:
    """(sum of the prompt tokens' log-probs, prompt tokens) of a completions answer with echo.

    Raises ValueError when the answer carries no usable prompt log-probs.
    """
    try:
        logprobs = response["choices"][0]["logprobs"]
        values = list(logprobs["token_logprobs"])
    except (KeyError, IndexError, TypeError):
        raise ValueError(
            "the answer has no choices[0].logprobs.token_logprobs: the endpoint "
            "must support echo=true with logprobs (vLLM does)"
        ) from None
    usage = response.get("usage") if isinstance(response, Mapping) else None
    count = usage.get("prompt_tokens") if isinstance(usage, Mapping) else None
    if not isinstance(count, int) or not 0 < count <= len(values):
        offsets = logprobs.get("text_offset") or []
        count = sum(1 for o in offsets if isinstance(o, int) and o < len(prompt))
    prompt_values = values[:count]
    if not prompt_values or any(v is None for v in prompt_values[1:]):
        raise ValueError(
            f"the answer's prompt log-probs are missing or incomplete ({prompt_values[:5]!r}...)"
        )
    scored = [float(v) for v in prompt_values if v is not None]
    if not all(math.isfinite(v) and v <= 0 for v in scored):
        raise ValueError("the answer's prompt log-probs are not finite values <= 0")
    return float(sum(scored)), count


class CompletionsLogprobClient(OpenAIChatClient):
    """``openai:/`` or ``azure:/`` completions with echo, shaped as a judge client for the engine:
    :meth:`acomplete` answers ``{"score": <log-prob>, ...}`` (or the reason it has none)."""

    json_mode = False

    def __init__(self, scheme: str, model: str, **options: Any) -> None:
        super().__init__(scheme, model, **options)
        self._completions_url = (
            self.base_url + "/completions"
            if scheme == "openai"
            else f"{self.base_url}/openai/deployments/{model}/completions?api-version={self.api_version}"
        )

    async def acomplete(
        self, messages: list[dict[str, Any]], parameters: Mapping[str, Any]
    ) -> Completion:
        prompt = str(messages[-1]["content"])
        body = {"model": self.model, "prompt": prompt, **dict(parameters)}
        response, _ = await self.post_json(self._completions_url, body)
        try:
            value, tokens = prompt_logprob(response, prompt)
        except ValueError as problem:
            return Completion(f"no prompt log-probs: {problem}")
        usage = (response.get("usage") if isinstance(response, Mapping) else None) or {}
        return Completion(
            json.dumps({"score": value, "justification": f"{tokens} prompt tokens"}),
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
        )


def _endpoint_model(
    uri: str,
    *,
    parameters: Mapping[str, Any] | None,
    cache: Any,
    timeout: float,
    **engine_options: Any,
) -> LogProbModel:
    from mlflow_llm_eval.judge.cached_run import run_cached

    scheme, name = parse_model_uri(uri)
    client = CompletionsLogprobClient(scheme, name, timeout=timeout)
    body = {**COMPLETION_PARAMETERS, **dict(parameters or {})}

    def run(texts: list[str]) -> list[LogProb]:
        requests = [[{"role": "user", "content": t}] for t in texts]
        outcomes, _ = run_cached(
            client,
            requests,
            body,
            LOGPROB_SCALE,
            lambda m, text, why: m,
            cache=cache,
            prompt_version="logprob-1",
            description=f"log-probs {name}",
            **engine_options,
        )
        return [
            LogProb(o.verdict.score) if o.verdict is not None else LogProb(None, o.status, o.reason)
            for o in outcomes
        ]

    return run


def _local_model(source: str, *, device: str, precision: str, batch_size: int) -> LogProbModel:
    from mlflow_llm_eval.hf.device import validate_device, validate_precision
    from mlflow_llm_eval.hf.loading import check_source

    check_source(source)
    validate_device(device)
    validate_precision(precision)

    def run(texts: list[str]) -> list[LogProb]:
        from mlflow_llm_eval.hf.loading import load_model

        return causal_lm_logprobs(
            load_model(source, task="causal-lm", device=device, precision=precision),
            texts,
            batch_size,
        )

    return run


def causal_lm_logprobs(loaded: Any, texts: Sequence[str], batch_size: int = 16) -> list[LogProb]:
    """Summed token log-probs of each text under a loaded causal LM (see the module docstring)."""
    import torch

    from mlflow_llm_eval.hf.batching import length_sorted_batches

    tokenizer, model = loaded.tokenizer, loaded.model
    bos = tokenizer.bos_token_id
    ids = [
        ([bos] if bos is not None else []) + tokenizer(t, add_special_tokens=False)["input_ids"]
        for t in texts
    ]
    out: list[LogProb] = [LogProb(None)] * len(texts)
    runnable = []
    for i, row in enumerate(ids):
        if len(row) > loaded.max_length:
            out[i] = LogProb(
                None,
                "too_long",
                f"{len(row)} tokens; the model takes "
                f"{loaded.max_length}: a truncated sentence's "
                "log-probability would be another sentence's",
            )
        elif len(row) < 2:
            out[i] = LogProb(None, "empty", "no token to score (one token and no BOS token)")
        else:
            runnable.append(i)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for batch in length_sorted_batches([len(ids[i]) for i in runnable], batch_size):
        rows = [ids[runnable[j]] for j in batch]
        width = max(len(r) for r in rows)
        input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=loaded.device)
        mask = torch.tensor(
            [[1] * len(r) + [0] * (width - len(r)) for r in rows], device=loaded.device
        )
        with torch.inference_mode():
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        picked = logp.gather(-1, input_ids[:, 1:, None])[..., 0] * mask[:, 1:]
        for j, total in zip(batch, picked.sum(dim=-1).tolist()):
            out[runnable[j]] = LogProb(float(total))
    return out


def _callable_model(fn: Callable[[list[str]], Sequence[Any]]) -> LogProbModel:
    def run(texts: list[str]) -> list[LogProb]:
        values = list(fn(list(texts)))
        if len(values) != len(texts):
            raise ValueError(
                f"the log-prob function returned {len(values)} values for {len(texts)} texts"
            )
        return [
            LogProb(float(v))
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            else LogProb(None, "error", f"not a finite number: {v!r}")
            for v in values
        ]

    return run


def as_logprob_model(
    model: Any,
    *,
    parameters: Mapping[str, Any] | None = None,
    cache: Any = True,
    timeout: float = 60.0,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int = 16,
    **engine_options: Any,
) -> LogProbModel:
    """A ``list[str] -> list[LogProb]`` function for ``model`` (see the module docstring)."""
    if model is None:
        raise ValueError(
            "prompt stereotyping needs a language model: model='<hub name or "
            "directory of a causal LM>', 'runs:/...', 'openai:/<model>' (a "
            "completions endpoint with echo + logprobs), or a function "
            "list[str] -> list[log-prob]"
        )
    if is_endpoint_uri(model):
        if not is_endpoint_uri(model, COMPLETIONS_SCHEMES):
            raise ValueError(
                f"model {model!r}: log-probs need a completions endpoint "
                f"({', '.join(f'{s}:/' for s in COMPLETIONS_SCHEMES)}<model>)"
            )
        return _endpoint_model(
            model, parameters=parameters, cache=cache, timeout=timeout, **engine_options
        )
    if engine_options or parameters:
        raise ValueError(
            f"options {sorted(engine_options) + (['parameters'] if parameters else [])}"
            " apply to completions endpoints (openai:/...) only"
        )
    if isinstance(model, str):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return _local_model(model, device=device, precision=precision, batch_size=batch_size)
    if callable(model):
        return _callable_model(model)
    raise TypeError(
        f"model must be a model name/path/URI or a callable, got {type(model).__name__}"
    )
