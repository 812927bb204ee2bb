"""Solver limits and Ctrl-C: the best incumbent on a time limit, exit 3 without one, and
an interrupted solve or bench (a real SIGINT to a real process) that keeps every finished
run whole and leaves nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from siting.engine.highs import HighsModel, SolverProfile
from siting.engine.job import Job
from siting.engine.steps import build
from siting.folders import RUN, RUNS
from siting.instance.generate import generate_instance
from siting.verify.checks import verify_run
from support import DEMO, ROOT, cli, solve_verified

SIGINT_WAIT_S = 120  # a process that outlives this after Ctrl-C has ignored it


def profile(folder: Path, name: str, **settings: float | bool) -> Path:
    """Write a solver profile of exact solves (gap 0) with ``settings``; return its path."""
    lines = ["[solver]", "mip_rel_gap = 0", "threads = 1"]
    lines += [f"{key} = {str(value).lower()}" for key, value in settings.items()]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """300 regions x 60 sites: far from solved to optimality in a few seconds."""
    return generate_instance(tmp_path_factory.mktemp("big") / "big", regions=300, sites=60,
                             seed=1)


def mandatory(folder: Path) -> Path:
    """Make collection mandatory in every stream: leaving all supply uncollected, the
    trivial solution, is then infeasible."""
    toml = folder / "instance.toml"
    toml.write_text("".join(line for line in toml.read_text().splitlines(keepends=True)
                            if not line.startswith("uncollected_penalty")))
    return folder


def leftovers(root: Path) -> list[Path]:
    """Temporary folders and files (names starting with a dot, but markers) under ``root``."""
    return [p for p in root.rglob(".*") if p.name not in (RUN.marker, RUNS.marker)]


def test_a_time_limit_keeps_the_best_incumbent_and_its_gap(tmp_path, big):
    limited = profile(tmp_path, "limited", time_limit=2, heuristic_start=True)
    result = cli("solve", big, "--solver", limited, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "run" / "solution.json").read_text())
    assert meta["status"] == "time_limit"
    assert meta["has_solution"]
    assert meta["mip_gap"] > 0
    assert meta["objective"] > meta["best_bound"]
    assert meta["status_text"] == (f"stopped at the time limit, gap {meta['mip_gap']:.3%} "
                                   "against a valid bound")
    assert meta["status_text"] in " ".join(result.output.split())
    report = verify_run(tmp_path / "run")
    assert report.ok, report.problems


def test_a_time_limit_before_any_incumbent_is_exit_3_and_writes_nothing(tmp_path):
    instance = mandatory(generate_instance(tmp_path / "inst", regions=40, sites=10, seed=1))
    instant = profile(tmp_path, "instant", time_limit=1e-6)
    runs = tmp_path / "runs"
    result = cli("solve", instance, "--solver", instant, "--out", runs / "run")
    assert result.exit_code == 3
    message = result.output.strip()
    assert message.startswith("error: the run's time limit came before any network was found")
    assert "\n" not in message
    assert "Traceback" not in message
    assert not runs.exists()


def start(*args: str | Path, cwd: Path) -> subprocess.Popen:
    """Start ``siting ARGS`` as a new process group that takes Ctrl-C as a terminal would
    (a test runner may have started us with SIGINT ignored)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", "from siting.cli.main import app; app()", *map(str, args)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        process_group=0, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def ctrl_c(process: subprocess.Popen) -> str:
    """Press Ctrl-C: SIGINT to the whole process group; return the output once it exits."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=SIGINT_WAIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return output


def wait_for(path: Path, process: subprocess.Popen) -> None:
    """Wait until ``path`` exists, failing if the process ends first."""
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.1)


def test_ctrl_c_during_a_solve_stops_it_and_writes_its_best_network(tmp_path, big):
    slow = profile(tmp_path, "slow", time_limit=600)
    process = start("solve", big, "--solver", slow, "--out", "runs/big", cwd=tmp_path)
    time.sleep(8)  # loading, building and solving; HiGHS alone would run for minutes
    output = ctrl_c(process)
    assert process.returncode == 130, output
    assert "interrupted: wrote the best network found so far" in output
    meta = json.loads((tmp_path / "runs" / "big" / "solution.json").read_text())
    assert meta["status"] == "interrupted"
    report = verify_run(tmp_path / "runs" / "big")
    assert report.ok, report.problems


@pytest.mark.parametrize("again", [None, signal.SIGTERM])
def test_ctrl_c_while_the_run_is_written_finishes_it_or_leaves_nothing(tmp_path, again):
    # The solve has ended: a Ctrl-C lets the run be written whole and says so (exit 130);
    # a second signal ends the process at once and removes the folder half filled.
    env = {**os.environ, "SITING_STOP_AT": "filled",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "run"
    with subprocess.Popen([sys.executable, "-m", "siting", "solve", DEMO, "--out", out],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as process:
        _, status = os.waitpid(process.pid, os.WUNTRACED)  # stopped itself, files half written
        assert os.WIFSTOPPED(status), process.stderr.read()
        process.send_signal(signal.SIGINT)
        if again is not None:
            process.send_signal(again)
        process.send_signal(signal.SIGCONT)
        _, err = process.communicate(timeout=SIGINT_WAIT_S)
    if again is None:
        assert process.returncode == 130, err
        assert "interrupted: wrote the finished run, whole," in err
        assert verify_run(out).ok
    else:
        assert process.returncode == 128 + again, err
        assert "interrupted again" in err
        assert list(tmp_path.iterdir()) == []


def test_sigterm_before_a_command_starts_is_one_line_exit_130(monkeypatch, capsys):
    import siting.__main__
    import siting.cli

    monkeypatch.setattr(sys, "argv", ["siting", "--help"])
    monkeypatch.setattr(siting.cli, "app", lambda **_: os.kill(os.getpid(), signal.SIGTERM))
    saved = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as ended:
            siting.__main__.main()
    finally:
        signal.signal(signal.SIGTERM, saved)
    assert ended.value.code == 130
    assert capsys.readouterr().err == "interrupted: nothing was written\n"


def test_ctrl_c_during_a_bench_keeps_every_finished_run(tmp_path, big):
    slow = profile(tmp_path, "slow", time_limit=600)
    out = tmp_path / "bench"
    process = start("bench", DEMO, big, "--solver", slow, "--jobs", "1", "--out", out,
                    cwd=tmp_path)
    wait_for(out / "demo" / "mandate-95", process)  # the demo's two runs are done
    time.sleep(1)  # the big run is being solved
    output = ctrl_c(process)
    assert process.returncode == 130, output
    assert "interrupted: finished runs are kept" in output
    for run in ("baseline", "mandate-95"):
        report = verify_run(out / "demo" / run)
        assert report.ok, report.problems
        assert json.loads((out / "demo" / run / "verification.json").read_text())["ok"]
    assert not (out / "big").exists()
    assert leftovers(out) == []
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["status"]) == ["optimal", "optimal", "not run"]


def test_a_network_in_hand_beats_a_dearer_one_highs_stops_with(tmp_path, monkeypatch):
    # HiGHS loses the MIP start (as when its clock ran out while it tried it) and stops at
    # its first network: the run reports the cheaper Lagrangian network, routed, instead.
    folder = mandatory(generate_instance(tmp_path / "g", regions=80, sites=12, streams=1,
                                         seed=0, capacity_ratio=2, single_size=True))
    solve = HighsModel.solve
    monkeypatch.setattr(HighsModel, "solve",
                        lambda self, start=None, *args, **kw: solve(self, None, *args, **kw))
    first = profile(tmp_path, "first", lagrangian=True)
    first.write_text(first.read_text() + "[options]\nmip_max_improving_sols = 1\n")
    meta = solve_verified(folder, tmp_path / "run", "--solver", first)
    assert meta["solver_status"] == "solution_limit"
    assert meta["objective"] == pytest.approx(meta["lagrangian"]["heuristic_cost"], rel=1e-9)
    assert "step_route_s" in meta["timings"]


def test_each_solve_of_a_model_gets_its_own_time_limit(tmp_path):
    # HiGHS's clock counts every run of a model: a later solve still has its whole limit.
    folder = generate_instance(tmp_path / "g", regions=30, sites=8, seed=0)
    job = Job.of(folder, None, SolverProfile(), True)
    highs = HighsModel(build(job.instance, job.scenario, job.profile)[0], job.profile)
    while highs.highs.getRunTime() < 2.0:
        assert highs.relaxation() is not None
    result = highs.solve(time_limit=1.5)
    assert result.status == "optimal"
