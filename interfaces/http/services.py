"""What the HTTP layer is wired to: built once at start-up, reached through dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from application.identity.service import IdentityService
from application.settings import Settings
from application.tracker import ImpactTracker
from read_models.bootstrap import ReadSide


@dataclass
class Services:
    """The application, its read side and identity, for one running app."""

    settings: Settings
    tracker: ImpactTracker
    read_side: ReadSide
    identity: IdentityService
