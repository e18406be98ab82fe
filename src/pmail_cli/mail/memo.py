"""Remember results for repeated inputs without letting large inputs fill memory."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sized
from typing import ParamSpec, TypeVar, cast

P = ParamSpec("P")
T = TypeVar("T")

SMALL = 1 << 20  # inputs up to this length are remembered; larger ones recomputed


def remember_small(maxsize: int = 16) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """lru_cache for calls whose first argument is at most SMALL long.

    Workers see the same attachment (a deck sent to every lead) thousands of times;
    a cache of a few entries answers the repeats, and a 25 MB one-off is not kept.
    """

    def wrap(fn: Callable[P, T]) -> Callable[P, T]:
        cached = cast(Callable[P, T], functools.lru_cache(maxsize=maxsize)(fn))

        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            if len(cast(Sized, args[0])) <= SMALL:
                return cached(*args, **kwargs)
            return fn(*args, **kwargs)

        return call

    return wrap
