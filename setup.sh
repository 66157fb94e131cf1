#!/usr/bin/env bash
# Set up a virtual environment with everything mlflow-llm-eval and its tests need.
# On a CPU machine torch is pinned to the CPU build first (an unpinned torch pulls a multi-GB
# CUDA build); on a GPU machine set TORCH_SPEC to the build you want, e.g. TORCH_SPEC=torch.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# Headless Chromium + chromedriver for the browser test of the MLflow UI (tests/ui); skipped without them.
apt_chromium() { $1 apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
  || { $1 apt-get update -q >/dev/null 2>&1 && $1 apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; }; }
if command -v apt-get >/dev/null && ! command -v chromedriver >/dev/null; then
  { [ "$(id -u)" = 0 ] && apt_chromium ""; } || { command -v sudo >/dev/null && apt_chromium sudo; } \
    || echo "setup.sh: could not install chromium/chromium-driver; the tests/ui browser test will skip" >&2
fi
.venv/bin/python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
# Spark needs Java: install a headless JRE with apt only when java is missing.
if ! command -v java >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq openjdk-17-jre-headless
fi
.venv/bin/python -m pip install --quiet -e ".[all,test,docs,lint]"
echo "mlflow-llm-eval is installed in $(pwd)/.venv"
