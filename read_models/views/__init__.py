"""The views: one projection each, with its own tables and its own position."""

from __future__ import annotations

from read_models.projection import Projection
from read_models.views.integrity import IntegrityProjection
from read_models.views.measures import MeasuresProjection
from read_models.views.organisations import OrganisationsProjection
from read_models.views.portfolio import PortfolioProjection
from read_models.views.timeline import TimelineProjection


def all_projections() -> list[Projection]:
    """Every view, in the order they are listed to operators."""
    return [
        TimelineProjection(),
        OrganisationsProjection(),
        PortfolioProjection(),
        MeasuresProjection(),
        IntegrityProjection(),
    ]


VIEW_NAMES = [p.name for p in all_projections()]
