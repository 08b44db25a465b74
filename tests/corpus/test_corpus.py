"""The real-client corpus is well-formed, and reading it never leaks: every log has its manifest entry with ids the
catalogue knows, `mailscope logs` reads each without a traceback, and no secret of a log (its lab token or password,
whole, in pieces, or in the base64 form the client sent) appears in the text report, the JSON report, or any
`--session N` reprint; and per client, every log gives its true cause (the few whose truth the log cannot show are
listed with the reason). benchmarks/field_evidence.py prints the same judgement as figures.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.lab.scenarios import SCENARIOS
from tests.attacks.oracle import _leaked, secret_pieces  # the attack suite's judge of what is a leak
from tests.corpus.fragments import SERVER_STRINGS, THREAD_SNIPPETS, cases
from tests.corpus.log_secrets import found, readable_texts
from tests.corpus.scoring import verdict
from tui.cli import main

CORPUS = Path(__file__).parent
ENTRIES = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["log"]
SCENARIO_IDS = {s.id for s in SCENARIOS}
REQUIRED = {
    "path": str,
    "client": str,
    "version": str,
    "scenario": str,
    "protocol": str,
    "source": str,
    "expected_id": str,
    "acceptable_ids": list,
    "failing": bool,
    "secret_kind": str,
    "secret_in_log": str,
    "decidable_from_log": bool,
    "connections": int,
}


def test_every_log_has_exactly_one_entry_and_every_entry_a_log() -> None:
    on_disk = sorted(str(p.relative_to(CORPUS)) for p in (CORPUS / "logs").rglob("*.log"))
    listed = sorted(e["path"] for e in ENTRIES)
    assert listed == on_disk
    assert len({e["client"] for e in ENTRIES}) >= 15, "the corpus covers the clients of the issue"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["path"])
def test_entry_is_well_formed(entry: dict) -> None:
    for key, kind in REQUIRED.items():
        assert isinstance(entry.get(key), kind), f"{key} missing or not a {kind.__name__}"
    assert entry["scenario"] in SCENARIO_IDS
    assert entry["protocol"] in ("imap", "pop3", "smtp")
    assert entry["source"] in ("generated", "hand-written")
    assert entry["secret_in_log"] in ("full", "partial", "none")
    scenario = next(s for s in SCENARIOS if s.id == entry["scenario"])
    assert entry["expected_id"] == (scenario.expected_finding or "")
    assert entry["failing"] == bool(entry["expected_id"])
    for finding_id in filter(None, (entry["expected_id"], *entry["acceptable_ids"])):
        assert finding_id in CATALOGUE, finding_id
    if entry["source"] == "hand-written":
        assert entry.get("based_on"), "a hand-written log names the documentation and threads its shape comes from"


def test_fragment_table_ids_are_in_the_catalogue() -> None:
    for item in (*SERVER_STRINGS, *THREAD_SNIPPETS):
        assert item.first in CATALOGUE, item.key
        assert set(item.candidates) <= set(CATALOGUE), item.key
    keys = [case.key for case in cases()]
    assert len(keys) == len(set(keys)) == 4 * len(SERVER_STRINGS) + len(THREAD_SNIPPETS)


def leak(text: str, secrets: list[str], pieces: set[str]) -> str | None:
    """A secret whole (a 16-character password is shorter than the attack suite's pieces) or any piece of it."""
    return next((s for s in secrets if s in text), None) or _leaked(text, pieces)


def mailscope_logs(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`mailscope logs ARGS` through the console script's own entry point, in this process (hundreds of runs: no
    interpreter start each)."""
    code = main(["logs", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["path"])
def test_log_is_read_without_traceback_and_without_leaking_its_secret(entry: dict, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(CORPUS / entry["path"])
    log = Path(path).read_text(encoding="utf-8", errors="replace")
    secrets = found(log, entry["secret_prefix"], entry["secret_length"]) if "secret_prefix" in entry else []
    if entry["secret_in_log"] != "none" and entry.get("secret_prefix"):
        assert secrets, "the manifest says the secret is in the log, and it must be found there"
    # every piece in every spelling (raw, base64 at each alignment, hex, UTF-16), less those that spell public values:
    # the mailbox address is in the token's claims (so its base64 is a piece of the token) and in the log in the clear
    addresses = {a for text in readable_texts(log) for a in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)}
    pieces = secret_pieces(secrets) - secret_pieces({*addresses, *(f"user={a}\x01auth=Bearer " for a in addresses)})
    assert not secrets or leak(log, secrets, pieces), "the judge recognises the secret where it is: in the log itself"
    runs = {("--json",): mailscope_logs(capsys, "--json", path), (): mailscope_logs(capsys, path)}
    sessions = json.loads(runs[("--json",)][1])["summary"]["sessions"]
    for n in range(1, min(sessions, 3) + 1):  # --session N reprints the rebuilt transcript: where cut AUTH lines showed
        runs[("--session", str(n))] = mailscope_logs(capsys, "--session", str(n), path)
    for args, (code, out, err) in runs.items():
        shown = out + err
        assert "Traceback" not in shown and "internal error" not in shown.lower(), (args, shown[-1500:])
        assert code in (0, 1, 3, 4), (args, shown[-800:])  # README: healthy, cause found, only candidates, no session
        assert leak(shown, secrets, pieces) is None, (args, leak(shown, secrets, pieces))


# Logs whose manifest truth the log itself cannot show (see the importers report): each says why. A listed log that the
# tool gets right fails the test too, so the list only ever shrinks.
NOT_IN_THE_LOG = {
    **{
        f"logs/{client}/ms-bare-scope.log": "the token has the very claims of ms-graph-scope's (aud Graph, scp IMAP.AccessAsUser.All) "
        "and the log does not show the requested scope: the Graph audience is confirmed, the bare scope only a candidate"
        for client in ("curl", "curl-trace-ascii", "mutt", "node-imap")
    },
    "logs/emailproxy/ms-no-oauth-before-starttls.log": "the proxy never started (OSError 98, address in use): no connection",
    "logs/imapflow/google-malformed-xoauth2.log": "imapflow hides the SASL payload and the server gave its generic token refusal: "
    "the empty user= is not in the log",
    "logs/getmail6/ms-no-oauth-before-starttls.log": "getmail6 logs no capability list; only the server's 'BAD Command received in "
    "Invalid state.' to AUTHENTICATE remains, which no rule reads as a pre-STARTTLS list yet",
}


@pytest.mark.parametrize("client", sorted({e["client"] for e in ENTRIES}))
def test_each_client_log_gives_the_true_cause(client: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Per client: every failing log names its true cause first (or, where the log cannot decide, among the unconfirmed
    candidates with no confirmed wrong cause), every healthy log has no ERROR (benchmarks/field_evidence.py's rule)."""
    wrong = []
    for entry in (e for e in ENTRIES if e["client"] == client):
        _, out, _ = mailscope_logs(capsys, "--json", str(CORPUS / entry["path"]))
        findings = json.loads(out)["findings"]
        if entry["failing"]:
            acceptable = {entry["expected_id"], *entry["acceptable_ids"]}
            ok, why = verdict(findings, entry["expected_id"], acceptable, entry["decidable_from_log"])
        else:
            errors = [f["id"] for f in findings if f.get("severity") == "error"]
            ok, why = not errors, f"healthy, ERROR {errors}"
        if ok == (entry["path"] in NOT_IN_THE_LOG):
            wrong.append(f"{entry['path']}: {why or 'right now: remove it from NOT_IN_THE_LOG'}")
    assert not wrong, wrong
