"""One owner of a run's time: the outer limit, and the user's request to stop.

Steps spend work units (iterations, nodes, simplex iterations) that the profile sets, so
the same instance and profile give the same answer on a quiet or a busy machine. Wall time
is only the outer limit: the profile's ``time_limit`` counts from the start of the command
to the written run folder. A step that is still running when the limit comes, or when the
user presses Ctrl-C (or sends SIGTERM), stops where it is; the run then finishes with the
best network found so far. A second Ctrl-C ends the process at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from siting.folders import abandon_writes

FINISH_SHARE = 0.1  # share of the time limit kept for the end: routing, files, map, verify
FINISH_CPU_S = 2.0  # the end's CPU seconds besides routing: files, map, verification
FINISH_PER_BUILD = 2.0  # ... and routing and extraction: this many times the model's build
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Budget:
    """The outer time limit of a run, and whether the user asked it to stop."""

    limit: float
    started: float = field(default_factory=time.monotonic)
    cpu_started: float = field(default_factory=time.process_time)
    interrupted: bool = False
    finish: float = FINISH_CPU_S  # seconds the end is expected to take (see expect_finish)

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def expect_finish(self, build_s: float) -> None:
        """Expect the end to take twice the model's build and 2 CPU seconds at the run's pace.

        That is ``FINISH_PER_BUILD`` times ``build_s`` seconds plus ``FINISH_CPU_S`` times
        the run's wall seconds per CPU second so far (about 3 beside two hogs per core).
        """
        cpu = time.process_time() - self.cpu_started
        pace = min(max(self.elapsed() / cpu, 1.0), 10.0) if cpu > 0 else 1.0
        self.finish = FINISH_PER_BUILD * build_s + FINISH_CPU_S * pace

    def left(self) -> float:
        """Seconds the steps before the finish may still spend (never below zero).

        The end keeps ``FINISH_SHARE`` of the limit or its expected time, whichever is
        longer, but never more than half the limit: a limit shorter than the end itself
        still leaves the steps time to find a network.
        """
        reserve = max(FINISH_SHARE * self.limit, min(self.finish, self.limit / 2))
        return max(0.0, self.limit - reserve - self.elapsed())

    def stopped(self) -> bool:
        """Whether the steps must stop now: interrupted, or out of time."""
        return self.interrupted or self.left() <= 0.0

    def reason(self) -> str | None:
        """``interrupted`` or ``time_limit`` when the steps stopped early, else None."""
        if self.interrupted:
            return "interrupted"
        return "time_limit" if self.left() <= 0.0 else None

    @contextmanager
    def stoppable(self) -> Iterator[Budget]:
        """Within the block, Ctrl-C and SIGTERM ask the run to stop; a second one exits.

        In a worker (not the main thread of the main process) signals are left as they
        are: the study that runs it keeps its finished runs and stops the rest.
        """
        if (threading.current_thread() is not threading.main_thread()
                or multiprocessing.parent_process() is not None):
            yield self
            return

        def ask(signum, frame) -> None:
            if self.interrupted:  # the second one: end now, write nothing more
                abandon_writes()
                sys.stderr.write("\ninterrupted again: stopped at once\n")
                os._exit(128 + signum)
            self.interrupted = True

        saved = {s: signal.signal(s, ask) for s in SIGNALS}
        try:
            yield self
        finally:
            for s, handler in saved.items():
                signal.signal(s, handler)
