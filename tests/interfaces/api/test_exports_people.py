"""The events download names people only by pseudonym, one per person, except for admins."""

from __future__ import annotations

import json
from pathlib import Path

from application.settings import Settings
from tests.conftest import ADMIN, proposal
from tests.interfaces.api.world import served


def test_a_fellows_account_and_their_fellow_id_share_one_pseudonym(tmp_path: Path) -> None:
    with served(Settings(data_dir=tmp_path, projection_poll_seconds=0.05)) as w:
        member = w.identity.get_user("member")
        assert member is not None
        project_id = w.tracker.propose_project(member.actor, proposal(w.programme)).aggregate_id
        texts = {
            who: w.client.get("/api/exports/events.jsonl", headers=w.headers(who)).text
            for who in ("evaluator", "admin")
        }
    lead = str(w.programme.lead_fellow_id)
    people = [lead, str(w.programme.other_fellow_id), "member", ADMIN.user_id]
    assert [p for p in people if p not in texts["admin"]] == []
    assert [p for p in people if p in texts["evaluator"]] == []
    rows = [json.loads(line) for line in texts["evaluator"].splitlines()]
    proposed = next(r for r in rows if r["stream_id"] == str(project_id))
    # The member proposed it and leads it: one person, so one pseudonym, the one of their stream.
    assert proposed["actor"] == proposed["data"]["lead_fellow_id"]
    enrolled = {r["stream_id"] for r in rows if r["event_type"] == "FellowEnrolled"}
    assert proposed["actor"] in enrolled
