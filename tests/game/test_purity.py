"""The core stays pure: no I/O, clock or global random anywhere in server/game."""

from __future__ import annotations

import ast
from pathlib import Path

import server.game

FORBIDDEN = {"asyncio", "json", "time", "os", "socket", "threading", "subprocess", "datetime"}
CORE = Path(server.game.__file__).parent


def _modules() -> list[Path]:
    files = sorted(CORE.glob("*.py"))
    assert len(files) >= 8
    return files


def test_no_forbidden_imports() -> None:
    for path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
                if names == ["random"]:
                    assert [a.name for a in node.names] == ["Random"], path
            else:
                continue
            assert not FORBIDDEN & set(names), (path.name, names)


def test_random_is_only_used_through_seeded_instances() -> None:
    for path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "random"
            ):
                assert node.attr == "Random", f"{path.name}:{node.lineno} uses random.{node.attr}"


def test_the_rng_is_drawn_only_through_the_arena() -> None:
    """A snapshot saves the arena's RNG as the words drawn from its seed (`rng_words`): a draw
    that bypassed `draw_bits`/`draw_below` would restore a taken-over game with another RNG."""
    allowed = {"arena.py", "state.py"}  # the draw methods; the state's save and restore
    for path in _modules():
        if path.name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "rng":
                raise AssertionError(f"{path.name}:{node.lineno} uses the rng directly")


def test_the_checker_would_catch_a_violation() -> None:
    bad = ast.parse("import random\nrandom.choice([1])\nimport time")
    attrs = [n.attr for n in ast.walk(bad) if isinstance(n, ast.Attribute)]
    imports = [a.name for n in ast.walk(bad) if isinstance(n, ast.Import) for a in n.names]
    assert "choice" in attrs and "time" in imports
