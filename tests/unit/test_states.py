"""Per-image states are enums with one PRESENT, and print, format, hash and serialise as their word."""

from __future__ import annotations

import json

from docker_kolla.core import promote_plan as pp
from docker_kolla.core.states import Step, Sync
from docker_kolla.ops import promote, pull, status


def test_one_present_for_plan_promote_and_pull():
    assert pp.PRESENT is promote.PRESENT is pull.PRESENT is Step.PRESENT
    assert {s.value for s in promote.STATUSES} == {"copied", "tagged", "present", "refused", "failed", "unverified"}
    assert {status.IN_SYNC, status.BEHIND, status.UNKNOWN_DIGEST, status.NOT_IN_LOCK} == set(Sync)


def test_states_are_their_words():
    assert str(Step.TAG) == f"{Step.TAG}" == "tag" and f"{Sync.IN_SYNC:>8}" == " in-sync"
    assert {Step.COPY: 1}["copy"] == 1 and json.dumps({Step.PRESENT: [Sync.BEHIND]}) == '{"present": ["behind"]}'
