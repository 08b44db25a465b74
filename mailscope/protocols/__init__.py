"""The protocol layer (sans-IO, like h11): the one home of IMAP's, POP3's and SMTP's grammar.

    from mailscope.protocols import conversation_for, default_port
    conversation = conversation_for(Protocol.SMTP, record.redactor)     # partial=True for a log's lines
    fed = conversation.feed(Direction.SERVER, "220 mx.example ESMTP Postfix", seq=1)
    fed.text, fed.annotations, fed.changes, fed.sasl, fed.command         # what to store, what it proves

The live probe's wire tap and the log replayer both feed a Conversation (through `mailscope.transcript`); explain
mode, log-line classification and the diagnosis context read the same grammar. Modules: `servers` (greeting,
server family, Exchange front-end name), `mechanism` (capabilities → offered mechanisms, choosing one), `lines`
(line assembly across split reads), `conversation` (the shared SASL dialogue and challenge decoding), `imap`,
`pop3`, `smtp`, `outcome`. Nothing here does I/O or imports asyncio or a client library.
"""

from __future__ import annotations

from mailscope.protocols.conversation import Conversation, Fed, Redacting, Reply
from mailscope.protocols.imap import ImapConversation
from mailscope.protocols.outcome import auth_label, decide_outcome, mailbox_check
from mailscope.protocols.pop3 import Pop3Conversation
from mailscope.protocols.smtp import SmtpConversation
from mailscope.settings import Protocol, Security

__all__ = [
    "DEFAULT_PORTS", "Conversation", "Fed", "Redacting", "Reply", "auth_label", "conversation_for", "decide_outcome", "default_port",
    "mailbox_check",
]  # fmt: skip

# The default port per (protocol, security): CONTRACTS §3.
DEFAULT_PORTS: dict[tuple[Protocol, Security], int] = {
    (Protocol.IMAP, Security.TLS): 993, (Protocol.IMAP, Security.STARTTLS): 143, (Protocol.IMAP, Security.PLAIN): 143,
    (Protocol.POP3, Security.TLS): 995, (Protocol.POP3, Security.STARTTLS): 110, (Protocol.POP3, Security.PLAIN): 110,
    (Protocol.SMTP, Security.TLS): 465, (Protocol.SMTP, Security.STARTTLS): 587, (Protocol.SMTP, Security.PLAIN): 25,
}  # fmt: skip
_CONVERSATIONS: dict[Protocol, type[Conversation]] = {
    Protocol.IMAP: ImapConversation, Protocol.POP3: Pop3Conversation, Protocol.SMTP: SmtpConversation,
}  # fmt: skip


def default_port(protocol: Protocol | str, security: Security | str) -> int:
    return DEFAULT_PORTS[(Protocol(protocol), Security(security))]


def conversation_for(protocol: Protocol | str, redactor: Redacting, *, partial: bool = False) -> Conversation:
    """A fresh conversation for one session; `partial` for lines a log shows (it may start mid-session and omit lines)."""
    return _CONVERSATIONS[Protocol(protocol)](redactor, partial=partial)
