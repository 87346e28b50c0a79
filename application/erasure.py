"""Erasing a person (UK GDPR right to erasure): the one entry point the interfaces call.

A person's details live in two places: sealed in the event store (erased by deleting their key:
``ImpactTracker.erase_person``) and in the identity database when they have an account (a
display name, sign-in secrets: ``IdentityService.anonymise_fellow_accounts``). The store is
erased first, so a failure part-way leaves the person already unreadable; since both steps are
safe to repeat, running the erasure again finishes whatever was left.
"""

from __future__ import annotations

from uuid import UUID

from application.identity.service import IdentityService
from application.results import ErasureResult
from application.tracker import ImpactTracker
from domain.values import Actor, ErasureReason


def erase_person(
    tracker: ImpactTracker,
    identity: IdentityService,
    actor: Actor,
    fellow_id: UUID,
    reason: ErasureReason = ErasureReason.REQUESTED_BY_PERSON,
) -> ErasureResult:
    """Erase a fellow's personal details everywhere they are kept; idempotent."""
    result = tracker.erase_person(actor, fellow_id, reason)
    accounts = identity.anonymise_fellow_accounts(fellow_id)
    return result.model_copy(
        update={
            "accounts_anonymised": accounts.user_ids,
            "storage_purged": result.storage_purged and accounts.purged,
        }
    )
