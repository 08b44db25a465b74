"""Access tokens a log leaked (curl -v, Postfix's debug lines, proxies and libraries that print the SASL
response). They are found for two reasons: every spelling of them is then redacted (registered with the
record's redactor, beyond the catch-all patterns), and an inspector the caller injects (the console and CLI pass
`providers.inspect.inspect_token`) can read their claims (aud, scp, upn, exp), so an imported session is
diagnosed from the token like a live one. The raw values never leave this module except inside `Secret`s."""

from __future__ import annotations

import re

from mailscope import sasl
from mailscope.events import Direction
from mailscope.logs.model import ImportedSession, ItemKind
from mailscope.secret import Secret, SecretKind

MAX_TOKENS = 8
# shorter "tokens" (`auth=Bearer x` in a pasted example) are no credential worth registering: registered, every `x` of the
# transcript would be replaced; the SASL payload itself is still described by the redactor wherever it appears
MIN_TOKEN = 8
_SASL_COMMAND = re.compile(r"^(?:[A-Za-z0-9.]+ )?(?:AUTHENTICATE|AUTH) (?P<mech>XOAUTH2|OAUTHBEARER)(?: (?P<ir>\S+))?\s*$", re.IGNORECASE)
_BEARER = re.compile(r"\b[Bb]earer\s+(?P<token>[A-Za-z0-9._~+/-]{16,}=*)")


def leaked_tokens(session: ImportedSession) -> list[Secret]:
    """Bearer tokens in the session's SASL responses and log lines, in order of appearance (the last one is the
    one the server judged last)."""
    found: dict[str, None] = {}
    awaiting: str | None = None  # mechanism whose response follows on the next client line
    for item in session.items:
        if item.kind is ItemKind.WIRE and item.direction is Direction.CLIENT:
            text = item.text.strip()
            command = _SASL_COMMAND.match(text)
            if command:
                awaiting = None
                if command.group("ir") and command.group("ir") != "=":
                    _add(found, command.group("ir"), command.group("mech"))
                else:
                    awaiting = command.group("mech")
                continue
            if awaiting and text and " " not in text:
                _add(found, text, awaiting)
            awaiting = None
        if "earer" in item.text:  # what _BEARER needs, found at C speed first: a session holds many lines and seldom a token
            for bearer in _BEARER.finditer(item.text):
                found.setdefault(bearer.group("token"), None)
    return [Secret(SecretKind.ACCESS_TOKEN, token) for token in list(found)[-MAX_TOKENS:]]


def _add(found: dict[str, None], response: str, mechanism: str) -> None:
    decoded = sasl.b64decode_strict(response)
    if decoded is None:
        return
    payload = sasl.parse_payload(decoded, mechanism)
    if len(payload.token) >= MIN_TOKEN and "missing_terminator" not in payload.codes:  # a cut response holds only a prefix of the token
        found.setdefault(payload.token, None)
