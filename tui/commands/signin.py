"""The headless side of an interactive sign-in (`mailscope check` with the device-code or auth-code flow):
instructions on stderr, a progress line while the browser's redirect is awaited, and paste-back from stdin.

The loopback redirect alone finishes the sign-in. stdin is read by a daemon thread from the raw descriptor
(never the default executor, whose shutdown would wait for a line that never comes), and end of input
(stdin closed, /dev/null, Ctrl-D) only means that no paste will come. On a terminal stdin is read key by
key with our own echo, so the progress line stops redrawing at the first key and never overwrites what is
being pasted; Ctrl-C stays a signal and cancels at once. The prompt's future tells when the wait is over.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import math
import os
import sys
import threading
import time
from typing import IO, Any

from mailscope.events import DeviceCodePrompt, LineAdded, PasteBackPrompt, PromptRequested

_RUNNING: set[asyncio.Task[None]] = set()  # the event loop keeps only weak references to tasks
_NOT_A_TERMINAL_EVERY = 30.0  # seconds between progress lines when stderr is a file or a pipe
_ERASE_LINE = "\r\x1b[K"
_END_OF_INPUT = 0x04  # Ctrl-D: in key-by-key mode the terminal no longer turns it into end of file


def signin_timeout_argument(text: str) -> str:
    """argparse type of --signin-timeout: checked now (a usage error), stored as text like every `extra` setting."""
    from providers.redirect import sign_in_timeout

    try:
        sign_in_timeout({"signin_timeout": text})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


class SignInPrompts:
    """A SessionRecord subscriber for one headless session: device code instructions, or the browser sign-in wait.

    Subscribe it before the transcript printer: a transcript line then never lands on the progress line (it is
    closed first), even though the engine prints the next line before the progress task has noticed the end."""

    def __init__(self, *, stdin_fd: int = 0, err: IO[str] | None = None) -> None:
        self.stdin_fd = stdin_fd
        self.err = err
        self.wait: SignInWait | None = None

    def __call__(self, event: object) -> None:
        if isinstance(event, LineAdded):
            if self.wait is not None:
                self.wait.close_line()
            return
        if not isinstance(event, PromptRequested):
            return
        prompt = event.prompt
        if isinstance(prompt, DeviceCodePrompt):
            print(prompt.message or f"Open {prompt.verification_uri} and enter the code {prompt.user_code}", file=sys.stderr,
                  flush=True)
            return
        answer = event.answer if isinstance(event.answer, asyncio.Future) else None
        self.wait = SignInWait(prompt, answer, stdin_fd=self.stdin_fd, err=self.err)
        self.wait.start()


def clock(seconds: float, *, round_up: bool = False) -> str:
    """125 -> '2:05' (a countdown rounds up: it shows 1:00 until a whole minute is gone)."""
    whole = max(0, math.ceil(seconds) if round_up else int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


class SignInWait:
    """One browser sign-in as the terminal shows it, from the prompt until its future is done."""

    def __init__(self, prompt: PasteBackPrompt, answer: asyncio.Future[str] | None, *, stdin_fd: int = 0,
                 err: IO[str] | None = None) -> None:
        self.prompt = prompt
        self.answer = answer
        self.stdin_fd = stdin_fd
        self.err = err or sys.stderr
        self.started = time.monotonic()
        self.typing = threading.Event()  # set at the first key: the progress line then stays as it is
        self._write_lock = threading.Lock()
        self._line_open = False  # the terminal's current line holds our progress or the typed address, unterminated
        self._saved_terminal: list[Any] | None = None
        self._on_terminal = self._is_terminal(self.err)

    # -- what the user reads -----------------------------------------------------------------------
    def instructions(self) -> str:
        p = self.prompt
        port = p.redirect_uri.rsplit(":", 1)[-1].split("/", 1)[0]
        return (f"Sign in: open this address in a browser and sign in:\n  {p.authorization_url}\n"
                f"The browser is then sent to {p.redirect_uri} and the sign-in finishes by itself.\n"
                f"No browser on this machine (SSH)? Forward the port (ssh -L {port}:localhost:{port} <this host>), or paste "
                "the address the browser ended on here and press Enter. Ctrl-C cancels.")

    def status(self) -> str:
        elapsed = time.monotonic() - self.started
        limit = f" | gives up in {clock(self.prompt.timeout - elapsed, round_up=True)}" if self.prompt.timeout else ""
        return f"waiting for the sign-in in the browser: {clock(elapsed)}{limit}"

    def start(self) -> None:
        self._write(self.instructions() + "\n")
        if self.answer is None:
            return
        self._enter_key_by_key_mode()
        threading.Thread(target=self._read_stdin, name="mailscope-paste-back", daemon=True).start()
        task = asyncio.get_running_loop().create_task(self._show_progress())
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)

    def close_line(self) -> None:
        """Something else is about to print: end our line (the progress goes away, a typed address stays)."""
        with self._write_lock:
            if self._line_open:
                self._line_open = False
                self._raw_write("\n" if self.typing.is_set() else _ERASE_LINE)

    # -- progress (on the event loop) --------------------------------------------------------------
    async def _show_progress(self) -> None:
        assert self.answer is not None
        next_line = 0.0
        try:
            while not self.answer.done():
                if self._on_terminal and not self.typing.is_set():
                    self._write(_ERASE_LINE + self.status(), line_open=True)
                elif not self._on_terminal and time.monotonic() - self.started >= next_line:
                    self._write(self.status() + "\n")
                    next_line += _NOT_A_TERMINAL_EVERY
                await asyncio.wait({self.answer}, timeout=1.0)
        finally:
            self._leave_key_by_key_mode()
            self.close_line()

    # -- stdin (on a daemon thread) ----------------------------------------------------------------
    def _read_stdin(self) -> None:
        echo = self._saved_terminal is not None and self._is_terminal(self.err)
        line = bytearray()
        in_escape = False
        while True:
            try:
                chunk = os.read(self.stdin_fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                return  # end of input: no paste will come, the redirect still may
            for byte in chunk:
                if in_escape:  # arrow keys and the like: ESC [ ... final byte
                    in_escape = not (0x40 <= byte <= 0x7E and byte != ord("["))
                    continue
                if byte in (0x0A, 0x0D):
                    if line.strip():
                        self.close_line()
                        self._deliver(line.decode("utf-8", "replace").strip())
                        return
                elif byte == _END_OF_INPUT:
                    return
                elif byte == 0x1B:
                    in_escape = True
                elif byte in (0x08, 0x7F):
                    if line:
                        line.pop()
                        self._echo(echo, "\b \b")
                elif byte >= 0x20:
                    if not self.typing.is_set():
                        self.typing.set()
                        self._echo(echo, _ERASE_LINE + "pasted address: ")
                    line.append(byte)
                    self._echo(echo, chr(byte) if byte < 0x80 else "")  # a URL is ASCII; other bytes are kept, not echoed

    def _deliver(self, text: str) -> None:
        loop = self.answer.get_loop() if self.answer is not None else None
        if loop is None:
            return

        def resolve() -> None:
            if self.answer is not None and not self.answer.done():
                self.answer.set_result(text)

        with contextlib.suppress(RuntimeError):  # the loop is gone: the session ended meanwhile
            loop.call_soon_threadsafe(resolve)

    def _echo(self, enabled: bool, text: str) -> None:
        if enabled and text:
            self._write(text, line_open=True)

    # -- terminal ----------------------------------------------------------------------------------
    def _enter_key_by_key_mode(self) -> None:
        """Non-canonical, no kernel echo, signals kept: keys arrive one by one, Ctrl-C still interrupts."""
        if not self._is_terminal_fd(self.stdin_fd):
            return
        try:
            import termios
        except ImportError:  # no termios (Windows): lines are read as they come
            return
        try:
            saved = termios.tcgetattr(self.stdin_fd)
            changed = list(saved)
            changed[3] &= ~(termios.ICANON | termios.ECHO)
            changed[6] = list(saved[6])
            changed[6][termios.VMIN], changed[6][termios.VTIME] = 1, 0
            termios.tcsetattr(self.stdin_fd, termios.TCSANOW, changed)
        except (termios.error, OSError):  # not our terminal (a background job): lines are read as they come
            return
        self._saved_terminal = saved
        atexit.register(self._leave_key_by_key_mode)

    def _leave_key_by_key_mode(self) -> None:
        saved, self._saved_terminal = self._saved_terminal, None
        if saved is None:
            return
        import termios

        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.stdin_fd, termios.TCSANOW, saved)
        atexit.unregister(self._leave_key_by_key_mode)

    @staticmethod
    def _is_terminal(stream: IO[str]) -> bool:
        try:
            return stream.isatty()
        except (ValueError, OSError):
            return False

    @staticmethod
    def _is_terminal_fd(fd: int) -> bool:
        try:
            return os.isatty(fd)
        except OSError:
            return False

    def _write(self, text: str, *, line_open: bool = False) -> None:
        with self._write_lock:
            self._raw_write(text)
            self._line_open = line_open

    def _raw_write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.err.write(text)
            self.err.flush()
