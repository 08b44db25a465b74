"""mailscope engine: UI-free. Never import Textual (or anything under tui/ or widgets/) from here.

Kept import-light on purpose: `mailscope check` with a static token must not pay for msal,
google-auth or Textual.
"""

__version__ = "0.1.0"
