"""Named lab scenarios: each reproduces a catalogue failure end to end with a lab world (directory and mailbox
permissions), the servers it needs, and the settings a user would have typed (the mistake included).

A scenario is data: a TOML file (`mailscope.scenario/1`, docs/scenarios.md) read by `schema.py`. The built-ins are
the files in `builtin/`; a trainer's own live in any directory (`--lab-dir`). What needs code is a small set of
named building blocks the files refer to: the two reference worlds and their secrets (`world.py`) and the settings
builder (`client.py`). Tokens come from real msal / google-auth talking to the lab IdP (providers/), never minted here.
"""

from mailscope.lab.scenarios.client import LabContext
from mailscope.lab.scenarios.model import Scenario
from mailscope.lab.scenarios.registry import BUILTIN_DIR, SCENARIOS, available, load_dir, load_file, scenario
from mailscope.lab.scenarios.servers import (
    EXCHANGE_CHINA,
    EXCHANGE_POP3,
    EXCHANGE_SMTP,
    EXCHANGE_STARTTLS,
    EXCHANGE_TLS,
    GMAIL,
    GMAIL_POP3,
    GMAIL_SMTP,
    GMAIL_SMTP_STARTTLS,
    SERVER_MODES,
)
from mailscope.lab.scenarios.world import World

__all__ = [
    "BUILTIN_DIR", "EXCHANGE_CHINA", "EXCHANGE_POP3", "EXCHANGE_SMTP", "EXCHANGE_STARTTLS", "EXCHANGE_TLS", "GMAIL", "GMAIL_POP3",
    "GMAIL_SMTP", "GMAIL_SMTP_STARTTLS", "SCENARIOS", "SERVER_MODES", "LabContext", "Scenario", "World", "available", "load_dir",
    "load_file", "scenario",
]
