"""Wiring from settings to a token source and the provider rules that plug into the diagnosis."""

from __future__ import annotations

from mailscope.credential import TokenSource
from mailscope.settings import CheckSettings, Mechanism

STATIC_FLOWS = ("static", "password", "")


def identity_ca_file(settings: CheckSettings) -> str | None:
    """CA file for the identity provider's TLS: `extra["idp_ca_file"]`, else the mail CA file when the
    authority/token endpoint was overridden (a lab or private IdP), else None (system trust)."""
    explicit = settings.extra.get("idp_ca_file")
    if explicit:
        return explicit
    if settings.authority or settings.token_endpoint:
        return settings.ca_file
    return None


def token_source_for(settings: CheckSettings) -> TokenSource | None:
    """None when the session needs no credential (e.g. a capability-only probe).

    Modules for msal and google-auth are imported only when that provider is chosen, so a static-token
    check never loads them.
    """
    from providers.generic import OAuthRefreshSource, StaticSource

    flow = settings.flow.strip().lower()
    has_static = settings.token is not None or settings.password is not None
    if settings.provider not in ("microsoft", "google") or (flow in STATIC_FLOWS and has_static):
        if flow == "refresh_token" and settings.token_endpoint and settings.refresh_token is not None:
            return OAuthRefreshSource(settings.token_endpoint, settings.client_id, settings.refresh_token, settings.client_secret,
                                      settings.scopes, identity_ca_file(settings))
        if settings.password is not None and (settings.mechanism in (Mechanism.PLAIN, Mechanism.LOGIN) or settings.token is None):
            return StaticSource(settings.password, is_password=True)
        if settings.token is not None:
            return StaticSource(settings.token, is_password=False)
        return None
    if settings.provider == "microsoft":
        from providers.microsoft import MicrosoftSource

        return MicrosoftSource(settings, ca_file=identity_ca_file(settings))
    from providers.google import GoogleSource

    return GoogleSource(settings, ca_file=identity_ca_file(settings))


def provider_rules() -> tuple:
    """Provider-specific diagnosis rules (Microsoft, Google, and those that need both providers' hosts), added to the
    engine's own.

    Each is `(ctx) -> Iterable[Finding | Check]`; `ctx` is a mailscope.diagnosis.context.Context, which carries the
    DiagnosisInput's attributes (settings, evidence, token, lines, now) plus derived facts.
    """
    from providers.explain import token_error_rule
    from providers.rules_common import COMMON_RULES
    from providers.rules_google import GOOGLE_RULES
    from providers.rules_microsoft import MICROSOFT_RULES

    return (token_error_rule, *MICROSOFT_RULES, *GOOGLE_RULES, *COMMON_RULES)
