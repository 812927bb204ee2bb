"""Where runs execute: one interface, a local process pool today, a cluster later.

The interface is the standard :class:`concurrent.futures.Executor`. :func:`local_executor`
gives a pool of worker processes on this machine; a Dask cluster plugs in behind the same
interface with ``distributed.Client(...).get_executor()``, whose futures
:func:`run_all` consumes unchanged. There is no scheduler here: ordering, retries and
placement belong to the executor.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def local_executor(jobs: int) -> Executor:
    """Return a pool of ``jobs`` worker processes on this machine.

    Parameters
    ----------
    jobs
        Number of worker processes (runs solved at the same time).

    Returns
    -------
    concurrent.futures.Executor
        A process pool; use it as a context manager so the workers are shut down.

    Notes
    -----
    Workers are started with ``spawn``, not ``fork``: HiGHS keeps a process-wide thread
    pool, and forking a process whose threads are running can deadlock the child.
    """
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))


def run_all(executor: Executor, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[tuple[T, R]]:
    """Submit ``fn(task)`` for every task and yield ``(task, result)`` as each one finishes.

    Parameters
    ----------
    executor
        Any :class:`concurrent.futures.Executor` (:func:`local_executor`, or a Dask
        client's ``get_executor()``). ``fn`` and the tasks must be picklable.
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
