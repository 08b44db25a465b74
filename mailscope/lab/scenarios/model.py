"""A lab scenario: one catalogue failure (or a healthy reference) end to end, as read from its TOML file."""

from __future__ import annotations

from dataclasses import dataclass

from mailscope.evidence import OutcomeKind
from mailscope.lab.scenarios.client import LabContext, build_settings
from mailscope.lab.scenarios.spec import ClientSpec, GoogleSpec, Hint, MicrosoftSpec
from mailscope.lab.scenarios.world import World, google_world, microsoft_world
from mailscope.settings import CheckSettings, Protocol


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    title: str
    provider: str  # "microsoft" | "google"
    protocol: Protocol
    failure_ids: tuple[str, ...]  # catalogue ids this scenario reproduces
    expected_finding: str | None  # the finding id the diagnosis must rank first (None: healthy, no error finding)
    expected_outcome: OutcomeKind
    teaching: str
    servers: tuple[str, ...]
    server_under_test: str  # the server key the settings point at
    client: ClientSpec
    microsoft: MicrosoftSpec | None = None  # the world's knobs (the provider's spec; the other is None)
    google: GoogleSpec | None = None
    wire: tuple[str, ...] = ()  # exact server texts the session must show (tests assert them)
    hints: tuple[Hint, ...] = ()  # for exercises, cheapest first as written
    source: str = ""  # the file it was read from

    def world(self) -> World:
        """The directory and the secret values that exist in this scenario's world (fresh secrets every call)."""
        if self.microsoft is not None:
            return microsoft_world(self.microsoft)
        assert self.google is not None
        return google_world(self.google, app_password=self.client.password == "app-password")

    def settings(self, ctx: LabContext, world: World) -> CheckSettings:
        """What the user typed, pointed at the running lab; the secrets they hold written as 0600 files."""
        return build_settings(self, ctx, world)
