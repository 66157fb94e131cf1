"""The fake OpenAI server answering MLflow 3's builtin judges too (for benchmarks/bench_genai.py).

MLflow's builtin scorers (``Correctness``, ...) ask for ``{"rationale": ..., "result": "yes|no"}``;
our judges ask for ``{"score": ..., "justification": ...}``. :func:`responder` answers each in
its own format (a stable choice from the prompt's hash, like :func:`fake_openai.hashed_score`).
Run it in its own process: ``python tests/support/fake_openai_genai.py --latency 0.2``; it
prints its base URL, and ``GET /_stats`` / ``POST /_reset`` work as for ``fake_openai.py``.
"""

from __future__ import annotations

import json

from fake_openai import hashed_score
from fake_openai import main as serve_fake_openai

MLFLOW_FORMAT = '"result": "yes|no"'


def responder(prompt: str) -> str:
    """MLflow's yes/no format when the prompt asks for it, else our score format."""
    score = hashed_score(prompt)
    if MLFLOW_FORMAT in prompt:
        result = "yes" if score >= 3 else "no"
        return json.dumps(
            {"rationale": f"Let's think step by step: scripted {result}", "result": result}
        )
    return json.dumps({"score": score, "justification": f"scripted score {score}"})


def main(argv: list[str] | None = None) -> None:
    """``fake_openai.py``'s command line (``--latency``, ``--rate-limit``, ...), this responder."""
    serve_fake_openai(argv, responder=responder, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    main()
