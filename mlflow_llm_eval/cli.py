"""Command line: ``mlflow-llm-eval run eval.yaml`` (or ``python -m mlflow_llm_eval run eval.yaml``).

``run`` evaluates every model of the config, prints the comparison table and the winner, and
exits with 0 (done; a winner when the config has a ``select:`` rule), 1 (no model is eligible,
or registering the winner raised an error) or 2 (the config is invalid: each problem is printed with
its key and line). ``validate`` checks the config and the data without creating any run.

Without ``MLFLOW_TRACKING_URI`` (or ``--tracking-uri``) runs go to ``sqlite:///mlflow.db`` in the
current directory; look at them with ``mlflow ui --backend-store-uri sqlite:///mlflow.db``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from mlflow_llm_eval.config.loader import ConfigError, load_config

EXIT_OK, EXIT_NO_WINNER, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlflow-llm-eval", description="Evaluate LLMs with MLflow from a YAML config."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="evaluate every model of the config and pick a winner")
    run.add_argument("config", help="path to the evaluation YAML (e.g. eval.yaml)")
    run.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, "
        "else sqlite:///mlflow.db in the current directory)",
    )
    run.add_argument("--max-workers", type=int, help="models evaluated at the same time")
    run.add_argument("--no-register", action="store_true", help="skip the register: step")
    run.add_argument("-v", "--verbose", action="store_true", help="show MLflow's logs and warnings")
    validate = commands.add_parser("validate", help="check the config and data; create no run")
    validate.add_argument("config", help="path to the evaluation YAML")
    return parser


def _quiet() -> None:
    """Keep the terminal to our table: MLflow's info logs and deprecation/schema hints hidden."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\.|$)")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _validate(path: str) -> int:
    from mlflow_llm_eval.runner.data import load_data

    loaded = load_config(path)
    data = load_data(loaded)
    cfg = loaded.config
    print(
        f"{path}: OK: {len(cfg.models)} models, {data.rows} rows, "
        f"metrics {', '.join(loaded.metrics.keys)}"
    )
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    import mlflow

    from mlflow_llm_eval.runner import evaluate_models
    from mlflow_llm_eval.runner.tracking import default_tracking_uri

    if not args.verbose:
        _quiet()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.tracking_uri:
        mlflow.set_tracking_uri(args.tracking_uri)
    else:
        default_tracking_uri()
    result = evaluate_models(
        args.config, max_workers=args.max_workers, register=not args.no_register
    )
    print(result.summary())
    if result.report_uri:
        print(f"comparison report: {result.report_uri}")
    if result.selection is not None and result.selection.winner is None:
        return EXIT_NO_WINNER
    if result.registration is not None and result.registration.failed:
        return EXIT_NO_WINNER
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mlflow-llm-eval`` script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args.config)
        return _run(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
