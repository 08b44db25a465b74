"""Keeps the diagnosis out of what a trainee sees before answering: the finding ids and titles of the catalogue, the
scenario's own name, title and teaching note, and whatever the diagnosis concluded (titles, explanations, fixes) are
replaced wherever they would show — transcript lines and their annotations, the outcome text, token notes."""

from __future__ import annotations

import re
from dataclasses import replace

from mailscope.diagnosis.catalogue import CATALOGUE
from mailscope.events import TranscriptLine
from mailscope.evidence import Outcome, TokenEvidence
from mailscope.findings import Diagnosis
from mailscope.lab.scenarios import Scenario

HIDDEN = "[hidden until you answer]"


class Concealer:
    def __init__(self, scenario: Scenario) -> None:
        phrases = {scenario.id, scenario.title, scenario.teaching, *(entry.title for entry in CATALOGUE.values())}
        words = set(CATALOGUE)  # ids as words; the scenario's id anywhere (a lab directory's name holds it)
        self._words = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")(?![\w-])")
        self._phrases = {p for p in phrases if p.strip()}
        self._compile()

    def learn(self, diagnosis: Diagnosis) -> None:
        """What the diagnosis concluded is hidden too (its findings' titles, explanations and fix steps, its summary)."""
        for finding in diagnosis.findings:
            self._phrases.update(p for p in (finding.title, finding.explanation, *finding.fix) if p.strip())
        if diagnosis.summary.strip():
            self._phrases.add(diagnosis.summary)
        self._compile()

    def _compile(self) -> None:
        self._phrase_re = re.compile("|".join(map(re.escape, sorted(self._phrases, key=len, reverse=True))))

    def text(self, text: str) -> str:
        return self._words.sub(HIDDEN, self._phrase_re.sub(HIDDEN, text))

    def line(self, line: TranscriptLine) -> TranscriptLine:
        return replace(line, text=self.text(line.text), annotations=tuple(map(self.text, line.annotations)))

    def outcome(self, outcome: Outcome) -> Outcome:
        return Outcome(outcome.kind, self.text(outcome.summary))

    def token(self, token: TokenEvidence) -> TokenEvidence:
        return replace(token, notes=[self.text(note) for note in token.notes])
