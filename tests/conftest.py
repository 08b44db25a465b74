"""Suite-wide settings. Under CI, hypothesis runs derandomized: a landing must not depend on which
random examples a run happened to draw. Locally it stays random, which is how it finds new cases."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
