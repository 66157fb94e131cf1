"""Release hygiene: ``python -m build`` makes an sdist and a wheel; the wheel installed into a fresh
virtual environment runs the main job (``mlflow-llm-eval run examples/eval.yaml``).

Offline: the build uses the installed hatchling (``--no-isolation``); the fresh venv gets the
wheel with its own ``pip install --no-deps`` (so the console script runs its
interpreter) and reaches the dependencies through a ``.pth`` line naming
this interpreter's site-packages (the editable checkout's own ``.pth`` files are not processed
there, so the package imported is the wheel's). The judge pack's YAML files must be inside the
wheel: the job's config lists a judge-free set, so the test also loads every pack judge from the
installed package. ``examples/`` is not in the wheel (a checkout's data): the test copies it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the [test] extra brings build")
    pytest.importorskip("hatchling", reason="the [test] extra brings hatchling")
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("src") / "checkout"
    # a copy of the tracked sources, so no local file (caches, venvs, stores) can leak in
    files = _run(["git", "ls-files", "-z"], cwd=REPO).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    done = _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)]
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def fresh_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=True).create(root)  # ensurepip: offline, the bundled pip
    python = root / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    assert site.is_relative_to(root)
    [wheel] = dist.glob("*.whl")
    # The venv's own pip, before the shared packages are visible to it: a pip that sees this
    # environment's (editable) install could uninstall it (never use --prefix with this pip).
    done = _run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # dependencies from this environment, after the venv's own site-packages
    (site / "_shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root


def test_build_makes_a_wheel_and_an_sdist_with_one_version(dist: Path) -> None:
    import mlflow_llm_eval

    [wheel], [sdist] = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert f"-{mlflow_llm_eval.__version__}-" in wheel.name
    assert sdist.name == f"mlflow_llm_eval-{mlflow_llm_eval.__version__}.tar.gz"
    names = zipfile.ZipFile(wheel).namelist()
    pack = sorted(n for n in names if n.startswith("mlflow_llm_eval/_judge_pack/"))
    assert {Path(n).name for n in pack} == {p.name for p in (REPO / "metrics").rglob("*.yaml")}
    assert "mlflow_llm_eval/py.typed" in names
    metadata = (
        zipfile.ZipFile(wheel)
        .read(f"mlflow_llm_eval-{mlflow_llm_eval.__version__}.dist-info/METADATA")
        .decode()
    )
    assert "Requires-Dist: mlflow<4,>=3.0" in metadata
    assert not any(
        line.startswith("Requires-Dist: rouge-score") and "extra" not in line
        for line in metadata.splitlines()
    )


def test_the_installed_wheel_runs_the_main_job(fresh_venv: Path, tmp_path: Path) -> None:
    python = fresh_venv / "bin" / "python"
    script = fresh_venv / "bin" / "mlflow-llm-eval"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "OPENAI_", "AZURE_"))
        and k not in ("PYTHONPATH", "PYTHONHOME")
    }
    env["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
    env["OPENAI_API_KEY"] = "sk-wheel-test-not-a-key"
    probe = _run(
        [
            str(python),
            "-c",
            (
                "import json, mlflow_llm_eval as le, mlflow_llm_eval.judge.pack as p;"
                "print(json.dumps({'file': le.__file__, 'version': le.__version__, 'pack': str(p.pack_dir()),"
                "'judge': le.get_metric('answer_correctness', model='openai:/gpt-4o-mini').key}))"
            ),
        ],
        env=env,
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    info = json.loads(probe.stdout.strip().splitlines()[-1])
    assert Path(info["file"]).is_relative_to(fresh_venv), info  # the wheel's copy, not the checkout
    assert (
        Path(info["pack"]).is_relative_to(fresh_venv) and info["judge"] == "answer_correctness/v1"
    )
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    done = _run([str(script), "run", "examples/eval.yaml"], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "winner: best-sentence" in done.stdout and (tmp_path / "mlflow.db").is_file()
