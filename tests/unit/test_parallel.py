"""ops/parallel.py: results in input order, quick answers in the calling thread, errors first."""

from __future__ import annotations

import threading
import time

import pytest

from docker_kolla.ops.parallel import Prefetch, map_quick_first


def test_quick_answers_stay_in_this_thread_and_the_rest_go_to_workers():
    main, seen = threading.get_ident(), {}

    def fn(x: int) -> str:
        seen[x] = threading.get_ident()
        return f"slow {x}"

    def quick(x: int) -> str | None:
        return f"quick {x}" if x % 3 == 0 else None

    items = list(range(10))
    got = map_quick_first(fn, items, 4, quick, reversed(items))
    assert got == [f"quick {x}" if x % 3 == 0 else f"slow {x}" for x in items]
    assert sorted(seen) == [x for x in items if x % 3]
    assert main not in seen.values()


def test_an_error_is_raised_and_the_queued_work_cancelled():
    started = []

    def fn(x: int) -> int:
        started.append(x)
        if x == 0:
            raise ValueError("boom")
        time.sleep(0.05)
        return x

    with pytest.raises(ValueError, match="boom"):
        map_quick_first(fn, list(range(50)), 2, lambda x: None, range(50))
    time.sleep(0.2)
    assert len(started) < 50


def test_peek_leaves_the_answer_and_the_error_to_take():
    calls = []

    def fn(x: int) -> int:
        calls.append(x)
        if x == 2:
            raise KeyError(x)
        return x * 10

    with Prefetch(fn, [1, 2], 2) as heads:
        assert heads.peek(1) == 10 and heads.peek(2) is None and heads.peek(3) is None
        ready = list(heads.as_ready([1, 3, 2]))
        assert ready[0] == 3 and sorted(ready) == [1, 2, 3]  # the one not prefetched first
        assert heads.take(1) == 10
        with pytest.raises(KeyError):
            heads.take(2)
        assert heads.take(3) == 30  # never prefetched: asked now
    assert sorted(calls) == [1, 2, 3]  # each asked once
