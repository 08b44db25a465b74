"""Word-aware wrapping for the panes' prose: lines break only at spaces, so a scope
(`https://www.googleapis.com/auth/gmail.readonly`), a URL or an identifier is never cut in two and never
reads as two words. A word wider than the pane keeps a line of its own and the pane scrolls sideways.

Rich's own wrapping folds over-long words (`IMAP.AccessAsUs` / `er.All`), which is what this replaces.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.text import Text

_WORD = re.compile(r"\S+")


def wrap_words(text: Text | str, width: int, *, indent: int = 0) -> list[Text]:
    """`text` as lines of at most `width` cells (except single words wider than that), continuation lines
    indented by `indent` spaces. Styles and link spans survive."""
    if isinstance(text, str):
        text = Text(text)
    plain = text.plain
    lines: list[Text] = []
    start = end = None  # the current line's span in `plain`
    used = 0
    for match in _WORD.finditer(plain):
        size = cell_len(match.group())
        room = width - (indent if lines else 0)
        if start is None:  # the first line keeps the text's own leading spaces ("  1. step")
            start, end, used = 0, match.end(), cell_len(plain[: match.end()])
        elif used + 1 + size <= room:
            end, used = match.end(), used + 1 + size
        else:
            lines.append(text[start:end])
            start, end, used = match.start(), match.end(), size
    if start is not None:
        lines.append(text[start:end])
    if not lines:
        return [Text("")]
    if indent:
        lines[1:] = [Text(" " * indent) + line for line in lines[1:]]
    return lines
