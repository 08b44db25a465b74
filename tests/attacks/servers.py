"""A scripted hostile mail server on loopback. A `ServerScript` is data: the greeting and, per command, the lines to
answer with, for IMAP (tagged), POP3 or SMTP (commands are the first word of a client line, replies carry no tag).

A line may hold `SPLIT` (what comes before and after goes out in separate writes, even inside one line), a reply may
be a generator (streamed until the client goes away: an answer without end), and `STALL` stops answering (a STARTTLS
the server never completes). After a continuation the client's next line is looked up as the command "SASL"."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Reply = str | Callable[[dict[str, str]], list[str] | Iterator[str]]
SPLIT = "\0split\0"  # the bytes before and after it go out in separate writes
STALL = "\0stall\0"  # the server says nothing more: it only reads until the client gives up
_STREAM_BATCH = 1000  # lines per write of an endless answer
_STREAM_LIMIT = 64 * 1024 * 1024  # bytes an endless answer sends at most (far beyond what the client reads)
_CONTINUATION = {"imap": "+", "pop3": "+", "smtp": "334"}


@dataclass(frozen=True)
class ServerScript:
    protocol: str  # "imap" | "pop3" | "smtp"
    greeting: str
    replies: dict[str, list[Reply]] = field(default_factory=dict)  # command -> lines; "SASL" a client response; "*" any other
    continuation: str = ""  # sent when an AUTH without initial response waits for it (default: "+ " or "334 ")

    @property
    def ask(self) -> str:
        return self.continuation or _CONTINUATION[self.protocol] + " "


def token_forms(token: str) -> dict[str, str]:
    """Placeholders a script's lines may use for the secret (a reply callable gets them too: payloads.echoes)."""
    raw = token.encode()
    return {"token": token, "token_b64": base64.b64encode(raw).decode(), "token_hex": raw.hex(),
            "token_utf16": base64.b64encode(token.encode("utf-16-le")).decode()}  # fmt: skip


class HostileServer:
    """Serves `script` to every connection until closed; `port` is where. Runs in a thread of its own."""

    def __init__(self, script: ServerScript, values: dict[str, str]) -> None:
        self.script = script
        self.values = values
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        reader = conn.makefile("rb")
        tagged = self.script.protocol == "imap"
        tag = ""
        try:
            asked = self._send(conn, [self.script.greeting], {})
            while not self._stop.is_set():
                line = reader.readline(1 << 20)
                if not line:
                    return
                words = line.decode("utf-8", "replace").rstrip("\r\n").split(" ")
                if asked and (not tagged or len(words) == 1):  # the client answers a continuation (IMAP: under the command's tag)
                    command = "SASL"
                else:
                    tag, command = (words[0], words[1].upper() if len(words) > 1 else "") if tagged else ("", words[0].upper())
                values = {"tag": tag, "command": command}
                if command in ("AUTHENTICATE", "AUTH") and len(words) == (3 if tagged else 2):
                    self._send(conn, [self.script.ask], values)  # no initial response: ask for it
                    if not reader.readline(1 << 20):
                        return
                replies = self.script.replies.get(command, self.script.replies.get("*", [f"{tag} OK done"]))
                asked = self._send(conn, replies, values)
                if command in ("LOGOUT", "QUIT"):
                    return
        except OSError:
            return
        finally:
            reader.close()
            conn.close()

    def _send(self, conn: socket.socket, replies: list[Reply], values: dict[str, str]) -> bool:
        """Write the replies (split, streamed or stalled as they say); True when the last line asks for a SASL response."""
        lines: list[str] = []
        for reply in replies:
            if callable(reply):
                produced = reply({**self.values, **values})
                if not isinstance(produced, list):
                    self._write(conn, lines)
                    self._stream(conn, produced)
                    return False
                lines += produced
            else:
                lines.append(_formatted(reply, {**self.values, **values}))
        if STALL in lines:
            self._write(conn, lines[: lines.index(STALL)])
            while not self._stop.is_set() and conn.recv(4096):
                pass
            raise OSError("stalled until the client left")
        self._write(conn, lines)
        ask = _CONTINUATION[self.script.protocol]
        return bool(lines) and (lines[-1] == ask or lines[-1].startswith(ask + " "))

    def _write(self, conn: socket.socket, lines: list[str]) -> None:
        data = "".join(line + "\r\n" for line in lines)
        for i, chunk in enumerate(data.split(SPLIT)):
            if i:
                time.sleep(0.05)
            if chunk:
                conn.sendall(chunk.encode("utf-8", "surrogateescape"))

    def _stream(self, conn: socket.socket, lines: Iterator[str]) -> None:
        """An answer without end: batches of lines until the client stops reading or closes."""
        sent = 0
        conn.settimeout(5)
        while not self._stop.is_set() and sent < _STREAM_LIMIT:
            batch = "".join(next(lines) + "\r\n" for _ in range(_STREAM_BATCH)).encode("utf-8", "surrogateescape")
            conn.sendall(batch)
            sent += len(batch)


def _formatted(line: str, values: dict[str, str]) -> str:
    """The line with its placeholders filled in; a line that is no template (garbage, JSON) as it is."""
    try:
        return line.format(**values) if "{" in line else line
    except (KeyError, ValueError, IndexError):
        return line
