"""``python -m mlflow_llm_eval run eval.yaml``: the same as the ``mlflow-llm-eval`` script."""

import sys

from mlflow_llm_eval.cli import main

sys.exit(main())
