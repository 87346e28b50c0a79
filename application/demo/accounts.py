"""One account per role for the demo programme, so a newcomer can walk every journey.

The password is public on purpose (the sign-in page lists these accounts only while the store
holds the demo programme); never load the demo into a store that real people use.
"""

from __future__ import annotations

from application.demo.loader import ADMIN, DemoSummary, fellow_actor, sponsor_user
from application.identity.service import IdentityService, NewUser
from domain.values import Role

DEMO_PASSWORD = "impact-demo-2020"


def demo_accounts(summary: DemoSummary) -> list[NewUser]:
    """The accounts: an admin, the first project's lead fellow, its sponsor, an evaluator."""
    return [
        NewUser(
            user_id=ADMIN.user_id,
            display_name="Demo admin",
            role=Role.ADMIN,
            password=DEMO_PASSWORD,
        ),
        NewUser(
            user_id=fellow_actor(1).user_id,
            display_name="Demo fellow (cohort 1)",
            role=Role.FELLOW,
            password=DEMO_PASSWORD,
            fellow_id=summary.fellows[0],
        ),
        NewUser(
            user_id=sponsor_user(0),
            display_name="Demo sponsor (cohort 1)",
            role=Role.SPONSOR,
            password=DEMO_PASSWORD,
            organisation_ids=summary.organisations[:1],
        ),
        NewUser(
            user_id="demo-evaluator",
            display_name="Demo evaluator",
            role=Role.EVALUATOR,
            password=DEMO_PASSWORD,
        ),
    ]


def create_demo_accounts(identity: IdentityService, summary: DemoSummary) -> list[str]:
    """Create the demo accounts that don't exist yet; return the ids created."""
    created = []
    for account in demo_accounts(summary):
        if identity.get_user(account.user_id) is None:
            identity.create_user(account)
            created.append(account.user_id)
    return created
