"""Bounded parallel map that fails fast: on an error or an interrupt, queued work is
cancelled and in-flight work is not waited for (it only holds network reads)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> list[R]:
    """``[fn(x) for x in items]`` on up to ``jobs`` threads, results in input order."""
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        results = list(pool.map(fn, items))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def map_quick_first(
    fn: Callable[[T], R], items: list[T], jobs: int, quick: Callable[[T], R | None], order: Iterable[T]
) -> list[R]:
    """``[fn(x) for x in items]``, results in input order, where ``quick(x)`` answers in this
    thread for the items it can (a result, not None) and every other item goes to up to
    ``jobs`` threads the moment ``quick`` declines it. ``order``: the items in the order to
    try them (as their prefetched answers arrive, :meth:`Prefetch.as_ready`). Fails fast
    like :func:`parallel_map`."""
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        slots: dict = {}
        for x in order:
            answer = quick(x)
            slots[x] = pool.submit(fn, x) if answer is None else answer
        results = [v.result() if isinstance(v, Future) else v for v in (slots[x] for x in items)]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


class Prefetch(Generic[T, R]):
    """``fn(x)`` for every ``x``, started now on up to ``jobs`` threads; :meth:`take` waits
    for one result (or raises its error). For work whose inputs are known before the
    rest of a step is ready (a re-lock's HEADs, while the lockfile is parsed).
    Use as a context manager: leaving it cancels what was not started."""

    def __init__(self, fn: Callable[[T], R], items: Iterable[T], jobs: int) -> None:
        self._fn = fn
        self._pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="prefetch")
        self._futures = {x: self._pool.submit(fn, x) for x in items}

    def take(self, x: T) -> R:
        future = self._futures.pop(x, None)
        return self._fn(x) if future is None else future.result()

    def peek(self, x: T) -> R | None:
        """``x``'s result if it was prefetched and succeeded (waits for it), else None;
        it stays to be taken (an error is raised by :meth:`take`, not asked again)."""
        future = self._futures.get(x)
        if future is None:
            return None
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - take() raises it where it is handled
            return None

    def as_ready(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, those not prefetched first, then the others as their answers arrive."""
        waiting = {}
        for x in items:
            future = self._futures.get(x)
            if future is None:
                yield x
            else:
                waiting[future] = x
        for future in as_completed(waiting):
            yield waiting[future]

    def __enter__(self) -> Prefetch[T, R]:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
