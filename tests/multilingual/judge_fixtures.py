"""The judge tests' fake OpenAI fixtures, reused here (tests/judge/conftest.py is not a package)."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "judge_conftest", Path(__file__).parents[1] / "judge" / "conftest.py"
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
server, fake, cache_dir, judge_env = (
    _module.server,
    _module.fake,
    _module.cache_dir,
    _module.judge_env,
)
