"""The fake OpenAI server answering MLflow 3's builtin judges too (for benchmarks/bench_genai.py).

MLflow's builtin scorers (``Correctness``, ...) ask for ``{"rationale": ..., "result": "yes|no"}``;
our judges ask for ``{"score": ..., "justification": ...}``. :func:`responder` answers each in
its own format (a stable choice from the prompt's hash, like :func:`fake_openai.hashed_score`).
Run it in its own process: ``python tests/support/fake_openai_genai.py --latency 0.2``; it
prints its base URL, and ``GET /_stats`` / ``POST /_reset`` work as for ``fake_openai.py``.
"""

from __future__ import annotations

import argparse
import json
import time

from fake_openai import FakeOpenAI, Faults, hashed_score

MLFLOW_FORMAT = '"result": "yes|no"'


def responder(prompt: str) -> str:
    """MLflow's yes/no format when the prompt asks for it, else our score format."""
    score = hashed_score(prompt)
    if MLFLOW_FORMAT in prompt:
        result = "yes" if score >= 3 else "no"
        return json.dumps({"rationale": f"Let's think step by step: scripted {result}",
                           "result": result})
    return json.dumps({"score": score, "justification": f"scripted score {score}"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=0.0)
    parser.add_argument("--retry-after", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    server = FakeOpenAI(latency=args.latency, responder=responder,
                        faults=Faults(rate_limit=args.rate_limit, retry_after=args.retry_after,
                                      seed=args.seed))
    server.start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
