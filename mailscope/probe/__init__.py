"""The live IMAP probe: aioimaplib with our own wire tap, structural SASL redaction and fault
classification. `run_imap_probe` is the entry point; `mailscope.check.run_check` wraps it with the
credential and the outcome."""

from mailscope.probe.imap import run_imap_probe

__all__ = ["run_imap_probe"]
