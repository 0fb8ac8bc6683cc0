"""Which build of the game core this process runs: mypyc-compiled or pure Python.

The compiled build is an optional acceleration (deploy/compile_core.py makes it in a copy of
the code); Python imports a module's `.so` in preference to its `.py`, so the file a module
came from tells which one runs.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib.machinery import EXTENSION_SUFFIXES
from typing import Literal

import server.game

CoreKind = Literal["compiled", "pure", "mixed"]
_EXTENSIONS = tuple(EXTENSION_SUFFIXES)  # e.g. ".cpython-311-x86_64-linux-gnu.so", ".so"


@cache
def kind() -> CoreKind:
    """Compiled when every module of `server.game` is an extension module, pure when none is."""
    modules = [server.game] + [
        importlib.import_module(info.name)
        for info in pkgutil.iter_modules(server.game.__path__, "server.game.")
    ]
    compiled = sum(1 for module in modules if str(module.__file__).endswith(_EXTENSIONS))
    if compiled == len(modules):
        return "compiled"
    return "pure" if compiled == 0 else "mixed"


def describe() -> str:
    """The startup log's words for it."""
    return {"compiled": "compiled", "pure": "pure Python", "mixed": "partly compiled"}[kind()]
