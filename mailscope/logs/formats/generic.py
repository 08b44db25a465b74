"""Fallback for logs of unknown products: find protocol lines inside whatever prefix the product adds,
tell client from server by the line's shape, and pick up exceptions and token errors."""

from __future__ import annotations

from mailscope.logs.formats.base import Parser as _Base


class Parser(_Base):
    name = "generic"
