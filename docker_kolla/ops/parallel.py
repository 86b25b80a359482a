"""Bounded parallel map that fails fast: on an error or an interrupt, queued work is
cancelled and in-flight work is not waited for (it only holds network reads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Generic, Iterable, TypeVar

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

    def __enter__(self) -> Prefetch[T, R]:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
