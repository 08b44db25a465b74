"""A scripted hostile mail server on loopback. A `ServerScript` is data: the greeting and, per command, the lines to
answer with. IMAP is what `mailscope check` speaks today; a POP3 or SMTP script is the same structure (commands are
the first word of a client line, replies carry no tag), so those servers slot in by adding scripts."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

Reply = str | Callable[[dict[str, str]], list[str]]


@dataclass(frozen=True)
class ServerScript:
    protocol: str  # "imap" (today); "pop3" / "smtp" once the probe speaks them
    greeting: str
    replies: dict[str, list[Reply]] = field(default_factory=dict)  # command -> lines; "*" for any other command
    continuation: str = "+ "  # sent when a SASL exchange waits for the client's response


def token_forms(token: str) -> dict[str, str]:
    """Placeholders a script may use to echo the secret back in every spelling a careless server might."""
    raw = token.encode()
    return {
        "token": token, "token_b64": base64.b64encode(raw).decode(), "token_b64_1": base64.b64encode(b"x" + raw).decode(),
        "token_b64_2": base64.b64encode(b"xy" + raw).decode(), "token_b64url": base64.urlsafe_b64encode(raw).decode(),
        "token_hex": raw.hex(), "token_HEX": raw.hex().upper(),
        "token_utf16": base64.b64encode(token.encode("utf-16-le")).decode(),
        "token_head": token[: len(token) // 2], "token_tail": token[len(token) // 2 :],
    }  # fmt: skip


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
        try:
            self._send(conn, [self.script.greeting], {})
            while not self._stop.is_set():
                line = reader.readline(1 << 20)
                if not line:
                    return
                words = line.decode("utf-8", "replace").rstrip("\r\n").split(" ")
                tagged = self.script.protocol == "imap"
                tag, command = (words[0], words[1].upper() if len(words) > 1 else "") if tagged else ("", words[0].upper())
                values = {"tag": tag, "command": command}
                if command in ("AUTHENTICATE", "AUTH") and len(words) == (3 if tagged else 2):
                    self._send(conn, [self.script.continuation], values)  # no initial response: ask for it
                    if not reader.readline(1 << 20):
                        return
                self._send(conn, self.script.replies.get(command, self.script.replies.get("*", [f"{tag} OK done"])), values)
                if command in ("LOGOUT", "QUIT"):
                    return
        except OSError:
            return
        finally:
            reader.close()
            conn.close()

    def _send(self, conn: socket.socket, replies: list[Reply], values: dict[str, str]) -> None:
        lines: list[str] = []
        for reply in replies:
            lines += reply({**self.values, **values}) if callable(reply) else [reply.format(**self.values, **values)]
        conn.sendall("".join(line + "\r\n" for line in lines).encode("utf-8", "surrogateescape"))
