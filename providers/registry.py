"""Wiring from settings to a token source and the provider rules that plug into the diagnosis."""

from __future__ import annotations

from mailscope.credential import TokenSource
from mailscope.settings import CheckSettings, Mechanism


def token_source_for(settings: CheckSettings) -> TokenSource | None:
    """None when the session needs no credential (e.g. a capability-only probe)."""
    from providers.generic import StaticSource

    if settings.password is not None and (settings.mechanism in (Mechanism.PLAIN, Mechanism.LOGIN) or settings.token is None):
        return StaticSource(settings.password, is_password=True)
    if settings.token is not None:
        return StaticSource(settings.token, is_password=False)
    return None


def provider_rules() -> tuple:
    """Provider-specific diagnosis rules (Microsoft, Google), added to the engine's own."""
    return ()
