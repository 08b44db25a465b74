"""Faults as data: every way a connection can go wrong becomes a FaultKind with a readable reason.

`ProbeFault` carries a Fault through the probe's control flow; `classify_connect_error` maps what
asyncio/ssl raise while connecting (DNS, refused, TLS verification, TLS against a plain port...) to
a Fault. Nothing here is ever shown as a traceback.
"""

from __future__ import annotations

import errno
import socket
import ssl

from mailscope.evidence import Fault, FaultKind

# OpenSSL reasons seen when the peer does not speak TLS at all (TLS client on a plain IMAP port:
# the server's "* OK ..." greeting is parsed as a TLS record).
_NOT_TLS_REASONS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST", "UNKNOWN_PROTOCOL"}


class ProbeFault(Exception):
    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.detail)
        self.fault = fault


def fault(kind: FaultKind, detail: str, step: str, line_seq: int | None = None) -> ProbeFault:
    return ProbeFault(Fault(kind, detail, step, line_seq))


def fault_from_exception(exc: BaseException, *, host: str, port: int, step: str) -> ProbeFault:
    return ProbeFault(classify_connect_error(exc, host=host, port=port, step=step))


def classify_connect_error(exc: BaseException, *, host: str, port: int, step: str) -> Fault:
    where = f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return Fault(FaultKind.DNS, f"cannot resolve {host!r}: {exc.strerror or exc}", step)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return Fault(FaultKind.TLS_VERIFY, f"certificate verify failed for {where}: {reason}", step)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or ""
        if reason in _NOT_TLS_REASONS:
            return Fault(
                FaultKind.TLS_ON_PLAIN_PORT,
                f"TLS handshake with {where} failed ({reason.lower().replace('_', ' ')}): the port answers in plain text; "
                "use --security starttls or plain, or the implicit-TLS port (IMAP 993, POP3 995, SMTP 465)",
                step,
            )
        return Fault(FaultKind.TLS_HANDSHAKE, f"TLS handshake with {where} failed: {reason or exc}", step)
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return Fault(FaultKind.REFUSED, f"connection to {where} refused: nothing listens on that port", step)
    if isinstance(exc, TimeoutError):
        return Fault(FaultKind.CONNECT_TIMEOUT, f"no TCP connection to {where} within the timeout", step)
    if isinstance(exc, ConnectionError | EOFError):
        return Fault(FaultKind.CLOSED_MID_COMMAND, f"{where} closed the connection during {step}: {exc.__class__.__name__}", step)
    if isinstance(exc, OSError):
        return Fault(FaultKind.REFUSED, f"cannot connect to {where}: {exc.strerror or exc}", step)
    return Fault(FaultKind.PROTOCOL_ERROR, f"{step} failed: {exc.__class__.__name__}: {exc}", step)
