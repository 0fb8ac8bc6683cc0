"""Compile the game core (`server/game`) and the server's hot path with mypyc, in a copy.

    python deploy/compile_core.py ROOT     ROOT holds `server/` (a copy, or an installed venv's
                                           site-packages); the `.so` files land beside the sources

Python imports an extension module in preference to the `.py` beside it, so a compiled tree
must never be the one people edit: a stale `.so` would silently shadow the edited source.
The script refuses a git checkout for that reason. Stdlib only, apart from mypy (mypyc).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

CORE = Path("server") / "game"
# The modules that run for every room tick, state frame, connection write or intent (beside
# the core). The rest of the server (start-up, HTTP, the bus, the cluster) stays interpreted:
# compiling it would buy nothing measurable, and interpreted code is easier to debug.
HOT_PATH = ("chat", "fanout", "frames", "room", "scheduler", "session")

# Imports every compiled module from the current directory and names the file each came
# from; run in a child process so that the parent's own `server` (if any) does not answer.
_PROBE = f"""
import importlib, json, pkgutil
import server.game
names = sorted(m.name for m in pkgutil.iter_modules(server.game.__path__, "server.game."))
names += ["server." + name for name in {HOT_PATH!r}]
files = {{"server.game": server.game.__file__}}
files.update({{n: importlib.import_module(n).__file__ for n in names}})
print(json.dumps(files))
"""


class CompileError(RuntimeError):
    """mypyc failed, or what it built is not what Python imports."""


def module_files(root: Path, python: str = sys.executable) -> dict[str, str]:
    """The file each module to be compiled is imported from, when running from `root`."""
    done = subprocess.run(
        [python, "-I", "-c", f"import sys; sys.path.insert(0, '.')\n{_PROBE}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise CompileError(f"importing the core from {root} failed:\n{done.stderr[-3000:]}")
    files: dict[str, str] = json.loads(done.stdout.splitlines()[-1])
    return files


def not_compiled(files: dict[str, str]) -> list[str]:
    """Modules whose file is not an extension module (`.so`/`.pyd`): source or bytecode."""
    return sorted(n for n, path in files.items() if not path.endswith(tuple(EXTENSION_SUFFIXES)))


def compile_core(root: Path, python: str = sys.executable) -> dict[str, str]:
    """Build `root/server/game` and the hot path with mypyc, tidy up, and prove every one of
    those modules imports compiled."""
    root = root.resolve()
    if not (root / CORE).is_dir():
        raise CompileError(f"{root / CORE} does not exist")
    if (root / ".git").exists():
        raise CompileError(f"{root} is a git checkout: compile a copy of it instead")
    done = subprocess.run(
        [python, "-m", "mypyc", str(CORE), *(f"server/{name}.py" for name in HOT_PATH)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    # mypyc leaves its C sources and object files in build/ and its type cache beside them.
    for leftover in ("build", ".mypy_cache"):
        shutil.rmtree(root / leftover, ignore_errors=True)
    if done.returncode != 0:
        raise CompileError(f"mypyc failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    files = module_files(root, python)
    missing = not_compiled(files)
    if missing:
        raise CompileError(f"built, but these modules still import as source: {missing}")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the folder that holds server/game")
    args = parser.parse_args(argv)
    try:
        files = compile_core(args.root)
    except CompileError as exc:
        print(f"compile_core: {exc}", file=sys.stderr)
        return 1
    print(f"compile_core: {len(files)} modules of {args.root / 'server'} import compiled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
