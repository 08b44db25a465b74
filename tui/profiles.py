"""Settings profiles for the console: thin wrapper over providers.profiles (no secrets, only sources)."""

from __future__ import annotations

from pathlib import Path

from mailscope.settings import CheckSettings


def save_profile(name: str, settings: CheckSettings) -> Path:
    from providers import profiles

    return profiles.save_profile(name, settings)


def load_profile(name: str) -> CheckSettings:
    from providers import profiles

    return profiles.load_profile(name)
