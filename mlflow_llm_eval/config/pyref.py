"""Load a model callable named in a config: ``module:function`` or ``path/to/file.py:function``.

A module name is first looked up as a ``.py`` file next to the config (so ``models:answer``
finds ``models.py`` beside ``eval.yaml``), then imported normally.

    >>> load_callable("json:dumps", Path("."))([1])
    '[1]'
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def _module_from_file(path: Path) -> ModuleType:
    """Import a file once per absolute path, under a private module name."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"_llm_eval_models_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_callable(ref: Any, base_dir: Path) -> Callable[..., Any]:
    """Resolve ``ref`` (a callable, or ``module:function``) to a callable."""
    if callable(ref):
        return ref
    module_part, _, attr = str(ref).rpartition(":")
    if not module_part or not attr:
        raise ValueError(f"expected 'module:function' or 'file.py:function', got {ref!r}")
    if module_part.endswith(".py"):
        path = Path(module_part).expanduser()
        path = (path if path.is_absolute() else base_dir / path).resolve()
        if not path.is_file():
            raise ImportError(f"file not found: {path}")
        module = _module_from_file(path)
    else:
        local = (base_dir / Path(*module_part.split("."))).with_suffix(".py")
        module = (
            _module_from_file(local.resolve())
            if local.is_file()
            else importlib.import_module(module_part)
        )
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{ref!r} is a {type(target).__name__}, not a callable")
    return target
