"""The exercise engine's table of causes (`causes.toml`, mailscope.causes/1): per catalogue id, how an answer list
words it without giving it away, the wire-signature families it belongs to, where it can happen, and what evidence
would have pointed to it. Titles, owners and fixes stay in the catalogue (mailscope/diagnosis/catalogue.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailscope.datafile import DataFileError, Key, Problem, Table, check_schema, read, unknown_message
from mailscope.training.facts import FACT_KINDS

SCHEMA = "mailscope.causes/1"
TABLE_FILE = Path(__file__).resolve().parent / "causes.toml"
PROTOCOLS = ("imap", "pop3", "smtp")
OUTCOMES = ("authenticated_mailbox_reachable", "authenticated_but_mailbox_refused", "authentication_failed",
            "token_acquisition_failed", "connection_fault")

FAMILY_KEYS = (
    Key("provider", "str", "microsoft, google or any", required=True, choices=("microsoft", "google", "any")),
    Key("outcomes", "strings", "session outcomes that show this signature", required=True, choices=OUTCOMES),
    Key("signature", "str", "what the trainee sees", required=True),
)
CAUSE_KEYS = (
    Key("choice", "str", "the answer list's wording", required=True),
    Key("families", "strings", "wire-signature families", required=True),
    Key("protocols", "strings", "where it can happen (default all)", choices=PROTOCOLS),
    Key("tell", "str", "the evidence that would have pointed to it", required=True),
    Key("look", "strings", "facts of the session to show against the tell", required=True),
)


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    provider: str  # "microsoft" | "google" | "any"
    outcomes: tuple[str, ...]
    signature: str


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    choice: str
    families: tuple[str, ...]
    protocols: tuple[str, ...]
    tell: str
    look: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CauseTable:
    families: dict[str, Family]
    causes: dict[str, Cause]


def load(path: str | Path = TABLE_FILE) -> CauseTable:
    """Read and check a cause table; DataFileError with every problem (unknown ids, families, facts)."""
    from mailscope.diagnosis.catalogue import CATALOGUE

    source = read(path)
    problems: list[Problem] = []
    if not check_schema(source, SCHEMA, problems):
        raise DataFileError(problems)
    top = Table(source, (), source.data, (Key("schema", "str", SCHEMA, required=True), Key("family", "table", "families"),
                                         Key("cause", "table", "causes")), problems)
    families = {}
    for name, data in top.get("family", {}).items():
        table = Table(source, ("family", name), data, FAMILY_KEYS, problems)
        families[name] = Family(name, table.get("provider", "any"), table.get("outcomes", ()), table.get("signature", ""))
    causes = {}
    for finding_id, data in top.get("cause", {}).items():
        table = Table(source, ("cause", finding_id), data, CAUSE_KEYS, problems)
        if finding_id not in CATALOGUE:
            problems.append(source.problem(("cause", finding_id), f"unknown finding id {finding_id!r}"))
        for family in table.get("families", ()):
            if family not in families:
                table.fail("families", unknown_message("family", family, families))
        for fact in table.get("look", ()):
            if fact.split(":", 1)[0] + (":" if ":" in fact else "") not in FACT_KINDS:
                table.fail("look", unknown_message("fact", fact, FACT_KINDS))
        causes[finding_id] = Cause(finding_id, table.get("choice", ""), table.get("families", ()), table.get("protocols", PROTOCOLS),
                                   table.get("tell", ""), table.get("look", ()))
    if problems:
        raise DataFileError(problems)
    return CauseTable(families, causes)


CAUSES = load()
