"""docs/scenarios.md stays true: its key reference is the schema's (generated), and every TOML example in it (a
scenario, a course, an answers file) is valid as printed, so a trainer can copy them."""

from __future__ import annotations

import re
from pathlib import Path

from mailscope.lab.docs import KEYS_BEGIN, KEYS_END, render_keys
from mailscope.training.files import check_paths

DOC = Path(__file__).resolve().parents[3] / "docs" / "scenarios.md"


def test_the_key_reference_is_generated_from_the_schema() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text[text.index(KEYS_BEGIN) : text.index(KEYS_END) + len(KEYS_END)] + "\n"
    assert block == render_keys(), "docs/scenarios.md is stale: replace its key block with `python -m mailscope.lab.docs keys`"


def test_the_examples_are_valid_files(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n# (\S+\.toml)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert [name for name, _ in blocks] == ["imap-disabled.toml", "exchange-basics.toml", "answers.toml"]
    for name, body in blocks:
        (tmp_path / name).write_text(body, encoding="utf-8")
    checked = check_paths([tmp_path])
    assert [(Path(c.path).name, c.kind, c.problems) for c in checked] == [
        ("answers.toml", "answers", ()),
        ("exchange-basics.toml", "course", ()),
        ("imap-disabled.toml", "scenario", ()),
    ]
