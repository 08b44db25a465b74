"""The live probe: one protocol-neutral session (session.py: connect, TLS, timeouts, faults, wire tap) and a thin
driver per protocol (imap.py on aioimaplib, smtp.py on aiosmtplib, pop3.py on our own reader). `run_probe` is the
entry point; `mailscope.check.run_check` wraps it with the credential and the outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailscope.evidence import Fault, FaultKind
from mailscope.probe.faults import ProbeFault
from mailscope.probe.session import ProbeSession
from mailscope.settings import Protocol

if TYPE_CHECKING:
    from mailscope.credential import Credential
    from mailscope.record import SessionRecord
    from mailscope.settings import CheckSettings

__all__ = ["run_probe"]


async def run_probe(settings: CheckSettings, credential: Credential | None, record: SessionRecord) -> None:
    """Run the session; results land in `record.evidence` (fault included). Never raises, except CancelledError,
    and always leaves the connection closed."""
    session = ProbeSession(settings, record)
    driver = _driver(settings.protocol)(session, credential)
    try:
        await driver.run()
    except ProbeFault as exc:
        record.update_evidence(fault=exc.fault)
    except Exception as exc:  # a path we (or the client library) did not foresee: still data, redacted with the session's secrets
        record.update_evidence(fault=Fault(FaultKind.PROTOCOL_ERROR, f"unexpected {exc.__class__.__name__}: {exc}", "session"))
    finally:
        driver.close()
        session.close()


def _driver(protocol: Protocol):  # noqa: ANN202 - a driver class
    """Imported on demand: an IMAP check never loads aiosmtplib."""
    if protocol is Protocol.SMTP:
        from mailscope.probe.smtp import SmtpDriver

        return SmtpDriver
    if protocol is Protocol.POP3:
        from mailscope.probe.pop3 import Pop3Driver

        return Pop3Driver
    from mailscope.probe.imap import ImapDriver

    return ImapDriver
