"""Where loralens keeps converted models and other caches."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache root: $LORALENS_CACHE, else $XDG_CACHE_HOME/loralens, else ~/.cache/loralens."""
    if env := os.environ.get("LORALENS_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "loralens"
