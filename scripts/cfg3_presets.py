"""Writes the nine cfg3 grammars of "Physics of Language Models, Part 1" (Allen-Zhu & Li) into
kleene's grammar text format, one file per grammar in python/kleene/grammars/cfg3/.

The rules are facts of the paper, read from the official JSON files
(facebookresearch/PhysicsLM4, data-synthetic-pretrain/Lano-cfg/configs/, Apache-2.0), which
live outside the project (../shared/data/cfg3 by default) and are never copied into it.
tests/test_grammars_cfg3_presets.py checks that the shipped files equal this rendering.

Run: ``python scripts/cfg3_presets.py [JSON_DIR]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "python" / "kleene" / "grammars" / "cfg3"
NAMES = ("cfg3b", "cfg3i", "cfg3h", "cfg3g", "cfg3f", "cfg3e1", "cfg3e2", "cfg3j", "cfg3k")


def render(name: str, data: dict) -> str:
    """The grammar of one official file as kleene text: a metadata line (``#!`` then the
    file's metadata as JSON), then one line per nonterminal, level by level in the file's
    symbol order, alternatives in the file's rule order (rule choice is uniform)."""
    levels = data["all"]
    depth = len(levels) - 1
    meta = {k: v for k, v in data.items() if k not in ("all", "idx")}
    meta["ids"] = [list(level) for level in data["idx"]]
    lines = [
        f'# {name}: a context-free grammar of Allen-Zhu & Li, "Physics of Language Models,',
        '# Part 1: Learning Hierarchical Language Structures" (facebookresearch/PhysicsLM4,',
        "# Apache-2.0), written in kleene's text format by scripts/cfg3_presets.py.",
        "# Terminal k is the official token id k; rule choice is uniform.",
        "#! " + json.dumps(meta, sort_keys=True, separators=(",", ":")),
    ]
    for level in range(depth):
        below = levels[level + 1]

        def symbol(k: int, below=below, terminal=level + 1 == depth) -> str:
            return str(k + 1) if terminal else below[k]["name"]

        for node in levels[level]:
            alternatives = [" ".join(symbol(k) for k in rule) for rule in node["children"]]
            lines.append(f"{node['name']} -> " + " | ".join(alternatives))
    return "\n".join(lines) + "\n"


def main(json_dir: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        data = json.loads((json_dir / f"{name}.json").read_text(encoding="utf-8"))
        (OUT / f"{name}.cfg").write_text(render(name, data), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "cfg3")
