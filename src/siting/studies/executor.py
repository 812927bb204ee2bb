"""Where runs execute: one interface, a local process pool today, a cluster later.

The interface is the standard :class:`concurrent.futures.Executor`. :func:`workers` gives
a pool of worker processes on this machine; a Dask cluster plugs in behind the same
interface: :func:`cluster` connects to a Dask scheduler and gives its client's executor,
whose futures :func:`run_all` consumes unchanged. There is no scheduler here: ordering,
retries and placement belong to the executor.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import TypeVar

from siting.errors import InputError

CONNECT_TIMEOUT = "10s"  # to reach a Dask scheduler
T = TypeVar("T")
R = TypeVar("R")


@contextmanager
def workers(jobs: int = 1, executor: Executor | None = None) -> Iterator[Executor]:
    """Give the executor to run tasks on: ``executor`` if given, else a local process pool.

    Parameters
    ----------
    jobs
        Worker processes of the local pool (runs solved at the same time).
    executor
        An executor to use as it is (a Dask client's ``get_executor()``...); it is left
        open on exit.

    Yields
    ------
    concurrent.futures.Executor
        The executor. A local pool is shut down on exit; on an exception (Ctrl-C included)
        its workers are terminated at once (and waited for), since their unfinished runs
        would be discarded anyway.

    Notes
    -----
    Local workers are started with ``spawn``, not ``fork``: HiGHS keeps a process-wide
    thread pool, and forking a process whose threads are running can deadlock the child.
    """
    if executor is not None:
        yield executor
        return
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    except BaseException:
        running = list((pool._processes or {}).values())  # no public way before Python 3.14
        pool.shutdown(wait=False, cancel_futures=True)
        for process in running:
            process.terminate()
        for process in running:
            process.join()
        raise
    pool.shutdown()


@contextmanager
def cluster(scheduler: str | None) -> Iterator[Executor | None]:
    """Connect to the Dask scheduler at ``scheduler`` and give its executor (None: no cluster).

    Parameters
    ----------
    scheduler
        A Dask scheduler address such as ``tcp://HOST:PORT``, or None to run locally.

    Yields
    ------
    concurrent.futures.Executor or None
        The client's executor, to pass to :func:`workers`; the client closes on exit.

    Raises
    ------
    siting.errors.InputError
        If no scheduler answers at that address.
    """
    if scheduler is None:
        yield None
        return
    from distributed import Client  # imported on use: it takes a second to import

    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as exc:
        raise InputError("--scheduler", None, f"no Dask scheduler at {scheduler}: {exc}") from None
    with client:
        yield client.get_executor()


def run_all(executor: Executor, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[tuple[T, R]]:
    """Submit ``fn(task)`` for every task and yield ``(task, result)`` as each one finishes.

    Parameters
    ----------
    executor
        Any :class:`concurrent.futures.Executor` (from :func:`workers`). ``fn`` and the
        tasks must be picklable.
    fn
        The work of one task; an exception it raises is raised here, when its turn comes.
    tasks
        The tasks, submitted in order.

    Yields
    ------
    tuple
        A task and its result, in the order they finish.

    Notes
    -----
    If the consumer stops early (an exception, Ctrl-C), the tasks not yet started are
    cancelled; tasks already running finish or fail on their own.
    """
    futures: dict[Future, T] = {executor.submit(fn, task): task for task in tasks}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        for future in futures:
            future.cancel()
