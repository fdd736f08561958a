"""``numba.njit`` with an on-disk cache that can never break a run.

numba's ``cache=True`` keeps compiled kernels in ``__pycache__`` beside the
source, or, when that folder is not writable, in a user-wide folder
(``$NUMBA_CACHE_DIR`` if set, else ``~/.cache/numba``).  Two things go wrong
with the stock decorator:

* when no folder is writable (a read-only install and a read-only home),
  decorating fails with ``RuntimeError: cannot cache function ...: no locator
  available`` and the package cannot even be imported;
* an emptied or truncated cache file (a full disk, a killed process, a bad
  copy) raises ``EOFError``/``UnpicklingError`` on every later run.

:func:`njit` here keeps numba's locations and falls back instead: no usable
folder means compiling in every process (no cache), a cache file that cannot
be read is removed and the kernel recompiled (once, with a
:class:`CacheWarning`), and a cache that cannot be written is switched off for
the rest of the run.  The compiled code is the same either way.

Clean uninstall: ``pip uninstall spherecodes`` removes the package's files but
not numba's cache files (``*.nbi``, ``*.nbc``) in
``site-packages/spherecodes/__pycache__``; remove that folder too (a leftover
``spherecodes`` folder would shadow a later editable install), and
``~/.cache/numba/spherecodes_*`` or ``$NUMBA_CACHE_DIR/spherecodes_*`` if
used.
"""
from __future__ import annotations

import os
import warnings

import numba

__all__ = ["njit", "CacheWarning"]


class CacheWarning(RuntimeWarning):
    """A numba cache file of spherecodes could not be used; the kernel was recompiled."""


def _function_cache_class():
    try:
        from numba.core.caching import FunctionCache
    except ImportError:  # pragma: no cover - numba reorganized its modules
        return None

    class SafeFunctionCache(FunctionCache):
        """numba's per-function cache; a cache file that cannot be read is a miss, one that cannot be written is off."""

        def load_overload(self, sig, target_context):
            try:
                return super().load_overload(sig, target_context)
            except Exception as exc:  # noqa: BLE001 - EOFError, UnpicklingError, OSError, ...
                self._discard(exc)
                return None

        def save_overload(self, sig, data):
            try:
                super().save_overload(sig, data)
            except Exception:  # noqa: BLE001 - no space, read-only, a corrupt index, ...
                self.disable()

        def _discard(self, exc) -> None:
            index = getattr(getattr(self, "_cache_file", None), "_index_path", None)
            removed = False
            if index:
                try:
                    os.unlink(index)
                    removed = True
                except OSError:
                    pass
            if not removed:
                self.disable()
            warnings.warn(f"spherecodes: unreadable numba cache file {index} ({type(exc).__name__}) "
                          f"{'removed' if removed else 'ignored'}; recompiling", CacheWarning, stacklevel=2)

    return SafeFunctionCache


_SAFE_CACHE = _function_cache_class()


def njit(*, refcount: bool = True, **options):
    """``numba.njit(**options)``; ``cache=True`` uses a cache that falls back instead of failing (see module doc).

    ``refcount=False`` compiles without numba's reference counting (its
    private ``_nrt=False`` flag), for small kernels that allocate nothing and
    only read and write arrays their caller holds.  numba counts every array
    a function receives or unpacks with atomic operations; in Wolfe's kernel
    that was about 30 % of a one-vs-rest call at (d, K) = (10, 100)
    (``benchmarks/bench_one_vs_rest.py``).  Such a function cannot allocate
    (numba refuses to compile it), and it must not keep or return a view of
    its arguments.  Where numba no longer knows the flag, the function is
    compiled with reference counting: slower, the same results.
    """
    cache = bool(options.pop("cache", False))
    if not refcount:
        options["_nrt"] = False

    def decorate(fn):
        try:
            dispatcher = numba.njit(cache=False, **options)(fn)
        except (KeyError, TypeError, ValueError):  # pragma: no cover - numba dropped its private flag
            options.pop("_nrt", None)
            dispatcher = numba.njit(cache=False, **options)(fn)
        if cache:
            try:
                dispatcher._cache = (_SAFE_CACHE or _stock_cache)(fn)
            except Exception:  # noqa: BLE001 - "no locator available": compile in every process instead
                pass
        return dispatcher

    return decorate


def _stock_cache(fn):
    from numba.core.caching import FunctionCache

    return FunctionCache(fn)
