"""aioimaplib logs every line it sends at DEBUG, including the base64 SASL string that decodes to the
bearer token. None of its records may reach any handler, even when someone turns DEBUG on."""

from __future__ import annotations

import asyncio
import logging

from aioimaplib import aioimaplib
from fakeimap import scripted, serve

from mailscope.credential import Credential
from mailscope.evidence import TokenEvidence
from mailscope.probe import run_probe
from mailscope.probe.imap import TapProtocol
from mailscope.probe.session import ProbeSession
from mailscope.record import SessionRecord
from mailscope.secret import Secret, SecretKind
from mailscope.settings import CheckSettings, Security

TOKEN = "ya29.a0AfB_byDebugLogLeakCanaryToken0123456789"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _refuse(tag: bytes, name: bytes, args: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(tag + b" NO AUTHENTICATE failed.\r\n")
    return True


async def test_aioimaplib_debug_records_reach_no_handler() -> None:
    root, direct = _Collect(), _Collect()
    logging.getLogger().addHandler(root)
    old_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    library = logging.getLogger("aioimaplib.aioimaplib")
    library.setLevel(logging.DEBUG)  # someone "helpfully" enables the library's debug log
    library.addHandler(direct)
    try:
        async with serve(scripted(_refuse)) as port:
            settings = CheckSettings(host="127.0.0.1", port=port, security=Security.PLAIN, user="alice@example.test", timeout=2)
            record = SessionRecord(settings)
            credential = Credential(Secret(SecretKind.ACCESS_TOKEN, TOKEN), False, TokenEvidence())
            record.redactor.register(credential.secret)
            await run_probe(settings, credential, record)
    finally:
        logging.getLogger().removeHandler(root)
        logging.getLogger().setLevel(old_level)
        library.removeHandler(direct)
    assert record.evidence.auth_result == "NO"  # the session really ran and sent AUTHENTICATE
    assert [r for r in root.records if r.name.startswith("aioimaplib")] == []
    assert direct.records == []


class _Wire:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def test_commands_go_out_as_stock_aioimaplib_writes_them() -> None:
    """TapProtocol.send skips only the library's debug formatting: every command's bytes are the stock ones."""
    loop = asyncio.new_event_loop()
    try:
        settings = CheckSettings(host="127.0.0.1", port=143, security=Security.PLAIN)
        stock, ours = aioimaplib.IMAP4ClientProtocol(loop), TapProtocol(loop, ProbeSession(settings, SessionRecord(settings)))
        stock.transport, ours.transport = _Wire(), _Wire()
        encoded = "dXNlcj1hbGljZUBleGFtcGxlLnRlc3QBYXV0aD1CZWFyZXIgeWEyOS5h"
        commands = [
            (aioimaplib.Command("CAPABILITY", "DJKK0", loop=loop), None),
            (aioimaplib.Command("AUTHENTICATE", "DJKK1", "XOAUTH2", encoded, loop=loop), encoded),
            (aioimaplib.Command("LOGIN", "DJKK2", aioimaplib.quoted("alice@example.test"), aioimaplib.quoted('p"ss\\w'), loop=loop), None),
            (aioimaplib.Command("EXAMINE", "DJKK3", "INBOX", loop=loop), None),
            (aioimaplib.Command("LOGOUT", "DJKK4", loop=loop), None),
        ]
        for command, scrub in commands:
            stock.send(str(command), scrub=scrub)
            ours.send(str(command), scrub=scrub)
    finally:
        loop.close()
    assert ours.transport.written == stock.transport.written and len(ours.transport.written) == len(commands)
    assert ours.transport.written[1] == f"DJKK1 AUTHENTICATE XOAUTH2 {encoded}\r\n".encode()
