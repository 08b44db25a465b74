"""Reassemble CRLF-terminated lines per direction from raw chunks as TCP/TLS delivered them.

A line may arrive in many reads and one read may carry many lines (or half of the next), so each
direction keeps its own buffer. Sans-IO: bytes in, complete lines out.
"""

from __future__ import annotations

from mailscope.events import Direction

MAX_LINE = 64 * 1024  # a peer that never sends CRLF still produces lines (garbage, binary)


class LineAssembler:
    def __init__(self) -> None:
        self._buffers: dict[Direction, bytearray] = {Direction.CLIENT: bytearray(), Direction.SERVER: bytearray()}

    def feed(self, direction: Direction, data: bytes) -> list[bytes]:
        """Complete lines (CRLF removed) now available in `direction`."""
        buffer = self._buffers[direction]
        if not buffer and data.endswith(b"\r\n"):  # whole lines, as most reads and every command bring them: none kept
            lines = data.split(b"\r\n")
            del lines[-1]  # the empty rest after the last CRLF
            return lines
        buffer += data
        lines = []
        while True:
            end = buffer.find(b"\r\n")
            if end < 0:
                break
            lines.append(bytes(buffer[:end]))
            del buffer[: end + 2]
        while len(buffer) > MAX_LINE:
            lines.append(bytes(buffer[:MAX_LINE]))
            del buffer[:MAX_LINE]
        return lines

    def pending(self, direction: Direction) -> bytes:
        """Bytes received without a line end yet (for diagnosing a greeting that never completes)."""
        return bytes(self._buffers[direction])

    def flush(self, direction: Direction) -> bytes | None:
        """The unterminated rest of a direction at connection end, if any."""
        buffer = self._buffers[direction]
        if not buffer:
            return None
        rest = bytes(buffer)
        buffer.clear()
        return rest
