"""Where independent jobs run: a local process pool, in-process, or a Dask cluster.

Tables over many ``(d, K)`` and many random restarts are embarrassingly
parallel.  Everything that fans out takes a :class:`concurrent.futures.Executor`;
:func:`get_executor` picks one:

* ``get_executor()``: a local :class:`~concurrent.futures.ProcessPoolExecutor`
  (``max_workers`` processes, default :func:`available_cpus`);
* ``get_executor(max_workers=1)`` or ``get_executor("serial")``: an executor that
  runs each job in the calling process when it is submitted (no pickling, easy
  to debug, used by the tests);
* ``get_executor("tcp://host:8786")``: ``distributed.Client(address).get_executor()``,
  so that the same code runs on a Dask cluster.  ``distributed`` is imported
  only then (``pip install "spherecodes[dask]"``).

The returned object is a context manager; leaving it shuts the pool down (and
closes the Dask client).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait

__all__ = ["get_executor", "submit_unordered", "SerialExecutor", "DaskExecutor", "available_cpus"]


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, else ``os.cpu_count()``).

    ``os.cpu_count()`` counts the machine's CPUs, also those a container or
    ``taskset`` keeps this process off.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class SerialExecutor(Executor):
    """An :class:`~concurrent.futures.Executor` that runs each job immediately in the calling process.

    Exceptions are stored in the returned future, as with a real pool.
    """

    def __init__(self):
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` now; return a finished future with its result or exception."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        fut: Future = Future()
        fut.set_running_or_notify_cancel()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse further jobs (nothing is running)."""
        self._shutdown = True


class DaskExecutor(Executor):
    """Wraps ``distributed.Client(address).get_executor()`` and closes the client on shutdown."""

    def __init__(self, address: str, **client_kwargs):
        try:
            from distributed import Client  # noqa: PLC0415 - optional dependency, imported lazily
        except ImportError:
            raise ImportError(
                "a scheduler address needs the 'distributed' package (Dask): "
                'pip install "spherecodes[dask]" or pip install distributed'
            ) from None
        self.client = Client(address, **client_kwargs)
        self._executor = self.client.get_executor()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Submit ``fn(*args, **kwargs)`` to the cluster."""
        return self._executor.submit(fn, *args, **kwargs)

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        """Like :meth:`concurrent.futures.Executor.map`, on the cluster."""
        return self._executor.map(fn, *iterables, timeout=timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the executor down and close the Dask client."""
        try:
            self._executor.shutdown(wait=wait)
        finally:
            self.client.close()


def get_executor(scheduler: str | None = None, *, max_workers: int | None = None) -> Executor:
    """Return an executor for independent jobs.

    Parameters
    ----------
    scheduler : str, optional
        ``None`` (default): local processes.  ``"serial"``: run in this process.
        Anything else is a Dask scheduler address such as ``"tcp://10.0.0.5:8786"``.
    max_workers : int, optional
        Number of local processes (default :func:`available_cpus`); ``1`` gives the
        in-process :class:`SerialExecutor`.  Ignored for Dask.

    Returns
    -------
    concurrent.futures.Executor
        Use it as a context manager.

    Raises
    ------
    ValueError
        ``max_workers < 1`` or an empty scheduler address.
    ImportError
        A scheduler address was given but ``distributed`` is not installed.
    """
    if max_workers is not None:
        if isinstance(max_workers, bool) or int(max_workers) != max_workers or max_workers < 1:
            raise ValueError(f"max_workers must be a positive integer, got {max_workers!r}")
        max_workers = int(max_workers)
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise ValueError(f"scheduler must be a non-empty address string, got {scheduler!r}")
        if scheduler.strip().lower() == "serial":
            return SerialExecutor()
        return DaskExecutor(scheduler.strip())
    if max_workers == 1:
        return SerialExecutor()
    return ProcessPoolExecutor(max_workers=max_workers or available_cpus())


def submit_unordered(executor: Executor, fn: Callable, jobs: Iterable[tuple], *,
                     max_pending: int | None = None) -> Iterator[tuple[tuple, Future]]:
    """Run ``fn(*args)`` for every ``args`` in ``jobs``; yield ``(args, future)`` as each finishes.

    At most ``max_pending`` jobs are submitted ahead (default: 2 per local
    worker, or 1 for a :class:`SerialExecutor`), so that results can be saved
    as they arrive.  (Submitting everything first would, with a
    :class:`SerialExecutor`, run every job before the first result is seen.)

    Parameters
    ----------
    executor : concurrent.futures.Executor
    fn : callable
        Picklable (module-level) for process pools and Dask.
    jobs : iterable of tuple
        Positional arguments of each call.
    max_pending : int, optional
        Jobs in flight at once.

    Yields
    ------
    (args, future)
        ``future.result()`` returns the value or raises the job's exception.
    """
    if max_pending is None:
        if isinstance(executor, SerialExecutor):
            max_pending = 1
        else:
            max_pending = 2 * (getattr(executor, "_max_workers", None) or available_cpus())
    if max_pending < 1:
        raise ValueError(f"max_pending must be >= 1, got {max_pending}")
    it = iter(jobs)
    pending: dict[Future, tuple] = {}
    exhausted = False
    while True:
        while not exhausted and len(pending) < max_pending:
            try:
                args = next(it)
            except StopIteration:
                exhausted = True
                break
            pending[executor.submit(fn, *args)] = args
        if not pending:
            return
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for fut in done:
            yield pending.pop(fut), fut
