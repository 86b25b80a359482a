"""cli/prestart.py: which command lines start a re-lock's HEADs before typer, and who gets them."""

from __future__ import annotations

from pathlib import Path

import pytest

from docker_kolla.cli import prestart
from docker_kolla.cli.state import State


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["lock", "ocata"], {}, (None, "ocata")),
        (["--repo", "/r", "lock", "ocata"], {}, ("/r", "ocata")),
        (["lock", "ocata", "--repo=/r"], {}, ("/r", "ocata")),
        (["lock", "ocata"], {"DOCKER_KOLLA_REPO": "/env"}, ("/env", "ocata")),
        (["lock", "ocata", "--repo", "/cli"], {"DOCKER_KOLLA_REPO": "/env"}, ("/cli", "ocata")),
        # anything else is left to typer: no HEAD is started for it
        (["lock", "ocata", "--jobs", "4"], {}, None),
        (["lock", "ocata", "--bogus"], {}, None),
        (["lock", "ocata", "extra"], {}, None),
        (["lock"], {}, None),
        (["diff", "HEAD~1"], {}, None),
        (["lock", "--help"], {}, None),
        (["lock", "ocata", "--repo"], {}, None),
    ],
)
def test_only_a_plain_lock_of_a_channel_starts_early(args, env, expected):
    assert prestart.lock_args(args, env) == expected


class FakeEarly:
    cancelled = 0

    def cancel(self) -> None:
        self.cancelled += 1


def test_take_hands_over_only_to_the_run_they_were_started_for(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(prestart, "early_heads", lambda state, channel, **kw: started.append(kw) or ("mine", None))
    state = State(repo=tmp_path, config_dir=tmp_path / "cfg")
    same = {"registry": None, "namespace": None, "insecure": [], "jobs": prestart.LOCK_JOBS, "timeout": None}

    early = FakeEarly()
    monkeypatch.setattr(prestart, "_pending", (prestart.started_for(state, "ocata"), "client", early))
    assert prestart.take(state, "ocata", **same) == ("client", early)
    assert early.cancelled == 0 and started == [] and prestart._pending is None

    for other_state, channel, settings in (
        (state, "pike", same),
        (state, "ocata", {**same, "jobs": 4}),
        (state, "ocata", {**same, "insecure": ["h:5000"]}),
        (State(repo=tmp_path / "elsewhere", config_dir=tmp_path / "cfg"), "ocata", same),
    ):
        early = FakeEarly()
        monkeypatch.setattr(prestart, "_pending", (prestart.started_for(state, "ocata"), "client", early))
        assert prestart.take(other_state, channel, **settings) == ("mine", None)  # started anew
        assert early.cancelled == 1  # and the early ones stopped

    early = FakeEarly()
    monkeypatch.setattr(prestart, "_pending", (prestart.started_for(state, "ocata"), "client", early))
    started.clear()
    assert prestart.take(state, "ocata", image=["nova-api"], **same) == (None, None)
    assert early.cancelled == 1 and started == []  # --image: no early HEADs at all


def test_a_relative_repository_matches_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "locks").mkdir()
    a = prestart.started_for(State(repo=Path("locks"), config_dir=tmp_path), "ocata")
    b = prestart.started_for(State(repo=tmp_path / "locks", config_dir=tmp_path), "ocata", insecure=[])
    assert a == b


def test_heads_nobody_took_are_cancelled_once(monkeypatch, tmp_path):
    early = FakeEarly()
    state = State(repo=tmp_path, config_dir=tmp_path)
    monkeypatch.setattr(prestart, "_pending", (prestart.started_for(state, "ocata"), "client", early))
    prestart.cancel()
    prestart.cancel()
    assert early.cancelled == 1 and prestart._pending is None
