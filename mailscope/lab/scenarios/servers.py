"""The lab's server keys (CONTRACTS §4): what a scenario asks LabSession to start, which protocol and TLS mode a
client uses with each, and whose service each one emulates."""

from __future__ import annotations

from mailscope.settings import Protocol, Security

EXCHANGE_TLS = "exchange"  # Exchange Online worldwide IMAP, implicit TLS (993)
EXCHANGE_STARTTLS = "exchange-starttls"  # Exchange Online worldwide IMAP, plain + STARTTLS (143)
EXCHANGE_CHINA = "exchange-china"  # Exchange Online IMAP operated by 21Vianet (partner.outlook.cn), implicit TLS
EXCHANGE_POP3 = "exchange-pop3"  # Exchange Online POP3, implicit TLS (outlook.office365.com:995)
EXCHANGE_SMTP = "exchange-smtp"  # Exchange Online SMTP submission, plain + STARTTLS (smtp.office365.com:587)
GMAIL = "gmail"  # Gmail IMAP, implicit TLS
GMAIL_POP3 = "gmail-pop3"  # Gmail POP3, implicit TLS (pop.gmail.com:995)
GMAIL_SMTP = "gmail-smtp"  # Gmail SMTP, implicit TLS (smtp.gmail.com:465)
GMAIL_SMTP_STARTTLS = "gmail-smtp-starttls"  # Gmail SMTP, plain + STARTTLS (smtp.gmail.com:587)

# What a client talks to each server with: (protocol, security).
SERVER_MODES: dict[str, tuple[Protocol, Security]] = {
    EXCHANGE_TLS: (Protocol.IMAP, Security.TLS),
    EXCHANGE_STARTTLS: (Protocol.IMAP, Security.STARTTLS),
    EXCHANGE_CHINA: (Protocol.IMAP, Security.TLS),
    EXCHANGE_POP3: (Protocol.POP3, Security.TLS),
    EXCHANGE_SMTP: (Protocol.SMTP, Security.STARTTLS),
    GMAIL: (Protocol.IMAP, Security.TLS),
    GMAIL_POP3: (Protocol.POP3, Security.TLS),
    GMAIL_SMTP: (Protocol.SMTP, Security.TLS),
    GMAIL_SMTP_STARTTLS: (Protocol.SMTP, Security.STARTTLS),
}


def server_provider(server: str) -> str:
    """"microsoft" for the Exchange Online servers, "google" for Gmail's."""
    return "microsoft" if server.startswith("exchange") else "google"
