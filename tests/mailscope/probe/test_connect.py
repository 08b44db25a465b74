"""open_socket's TCP phase: an address already resolved is connected without a second look-up (uvloop's own
`sock_connect` resolves even an IP address again, in resolver threads: a cost per session of an audit), and a loop that
cannot watch a socket (asyncio's Proactor, on Windows) still connects."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import pytest

from mailscope.probe.connect import open_socket

_COUNT_THREADS = """
import os, socket, uvloop
from mailscope.probe.connect import open_socket

async def main():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        before = len(os.listdir("/proc/self/task"))
        for _ in range(3):
            (await open_socket("127.0.0.1", listener.getsockname()[1], 5)).close()
        print(before, len(os.listdir("/proc/self/task")))

uvloop.run(main())
"""


def test_an_ip_address_is_connected_on_uvloop_without_resolver_threads() -> None:
    """In a fresh process (the threads libuv starts for its first look-up stay for the process' life)."""
    result = subprocess.run([sys.executable, "-c", _COUNT_THREADS], capture_output=True, text=True, timeout=60, check=True)
    before, after = map(int, result.stdout.split())
    assert after == before == 1


@pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])
async def test_the_connection_is_made_and_the_socket_left_to_the_transport() -> None:
    """The socket is no longer watched once connected: a transport can take it (uvloop refuses one whose socket is still
    watched)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(5)  # blocking calls of the test's own: bounded
        sock = await open_socket("127.0.0.1", listener.getsockname()[1], 5)
        transport, _ = await asyncio.get_running_loop().create_connection(asyncio.Protocol, sock=sock)
        try:
            accepted, _ = listener.accept()
            with accepted:
                accepted.settimeout(5)
                transport.write(b"hello")
                assert accepted.recv(5) == b"hello"
        finally:
            transport.close()


@pytest.mark.asyncio(loop_factories=["asyncio"])  # uvloop's loop takes no attribute of its own
async def test_a_loop_that_cannot_watch_a_socket_connects_it_its_own_way(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[object] = []

    def no_watching(*args: object) -> None:
        asked.append(args[0])
        raise NotImplementedError  # what asyncio's Proactor loop answers

    monkeypatch.setattr(asyncio.get_running_loop(), "add_writer", no_watching)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        sock = await open_socket("127.0.0.1", listener.getsockname()[1], 5)
        with sock:
            assert asked == [sock] and sock.getpeername() == listener.getsockname()


@pytest.mark.asyncio(loop_factories=["asyncio"])  # uvloop's loop takes no attribute of its own
async def test_a_name_whose_first_address_refuses_is_connected_at_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's refusal comes back as the socket's error once the connect ends; the next address is tried on a fresh
    socket, and the refused one is no longer watched (the loop would otherwise still hold its file descriptor)."""
    loop = asyncio.get_running_loop()
    with socket.socket() as refusing, socket.socket() as listener:
        refusing.bind(("127.0.0.1", 0))  # bound, never listening: the kernel refuses
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        addresses = [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", s.getsockname()) for s in (refusing, listener)]

        async def resolved(*args: object, **kwargs: object) -> list[tuple]:
            return addresses  # what a name with two addresses resolves to

        monkeypatch.setattr(loop, "getaddrinfo", resolved)
        watched = len(loop._selector.get_map())  # type: ignore[attr-defined]
        sock = await open_socket("mail.example.test", 993, 5)
        with sock:
            assert sock.getpeername() == listener.getsockname()
            assert len(loop._selector.get_map()) == watched  # type: ignore[attr-defined]
