"""Scoring one answer: one point for the right cause, less what the hints cost; a wrong owner or fix costs a quarter
each (only when the form asks for them and the trainee gave one); a wrong cause scores 0 whatever else is right."""

from __future__ import annotations

from dataclasses import dataclass

OWNER_WEIGHT = 0.25
FIX_WEIGHT = 0.25


@dataclass(frozen=True, slots=True)
class Answer:
    cause: str  # a finding id
    owner: str | None = None  # an Owner value ("tenant admin"); None: not answered
    fix: str | None = None  # the finding id whose fix was chosen; None: not answered


@dataclass(frozen=True, slots=True)
class Score:
    value: float  # 0 to 1
    cause_right: bool
    owner_right: bool | None  # None: not asked or not answered
    fix_right: bool | None
    hint_cost: float


def score(right: Answer, given: Answer, hint_cost: float, *, asks_owner_and_fix: bool) -> Score:
    cause_right = given.cause == right.cause
    owner_right = given.owner == right.owner if asks_owner_and_fix and given.owner is not None else None
    fix_right = given.fix == right.fix if asks_owner_and_fix and given.fix is not None else None
    value = 0.0
    if cause_right:
        value = 1.0 - hint_cost - OWNER_WEIGHT * (owner_right is False) - FIX_WEIGHT * (fix_right is False)
    return Score(round(max(0.0, value), 2), cause_right, owner_right, fix_right, round(float(hint_cost), 2))


def normalise_owner(text: str) -> str:
    """"tenant-admin", "Tenant_Admin" and "tenant admin" are one owner."""
    return " ".join(text.replace("-", " ").replace("_", " ").lower().split())
