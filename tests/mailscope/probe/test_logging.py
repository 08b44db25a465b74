"""aioimaplib logs every line it sends at DEBUG, including the base64 SASL string that decodes to the
bearer token. None of its records may reach any handler, even when someone turns DEBUG on."""

from __future__ import annotations

import asyncio
import logging

from fakeimap import scripted, serve

from mailscope.credential import Credential
from mailscope.evidence import TokenEvidence
from mailscope.probe import run_probe
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
