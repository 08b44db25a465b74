"""How a `mailscope logs --json` report is judged against a corpus truth: one rule for the benchmark
(benchmarks/field_evidence.py) and the per-client test (test_corpus.py)."""

from __future__ import annotations


def verdict(findings: list[dict], first: str, acceptable: set[str], decidable: bool) -> tuple[bool, str]:
    """Right when the true cause is ranked first; where the evidence cannot decide, also when it is among the unconfirmed
    candidates and nothing outside the acceptable causes is claimed as a confirmed error."""
    ranked = [f["id"] for f in findings]
    if ranked and ranked[0] == first:
        return True, ""
    if not decidable:
        candidates = {f["id"] for f in findings if not f.get("confirmed")}
        wrong = [f["id"] for f in findings if f.get("confirmed") and f.get("severity") == "error" and f["id"] not in acceptable]
        if candidates & acceptable and not wrong:
            return True, ""
        return False, f"got {ranked[:4] or 'nothing'}" + (f", confirmed wrong: {wrong[:2]}" if wrong else "")
    return False, f"got {ranked[:4] or 'nothing'}"
