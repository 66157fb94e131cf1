"""A tiny GPT-2 causal LM (seeded random weights, no download) with the tiny BPE tokenizer.

save_causal_lm(tmp_path / "lm")  ->  a directory ``AutoModelForCausalLM`` can load
"""

from __future__ import annotations

from pathlib import Path

from support.tiny_models import MAX_LENGTH, build_tokenizer


def save_causal_lm(path: str | Path, *, seed: int = 0, max_length: int = MAX_LENGTH) -> Path:
    """Save a 2-layer, hidden-32 GPT-2 + tokenizer (BOS ``<s>``) to ``path`` and return it."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config

    tokenizer = build_tokenizer(max_length=max_length)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=max_length,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.5,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
