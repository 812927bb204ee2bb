"""No command deletes, overwrites or leaves behind what it should not.

Every data-loss case puts a victim file or folder where a careless writer would land, and
checks that it survives byte for byte, that the command fails with one line and exit 2,
and that nothing was written.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import siting.engine.pipeline
from siting.errors import OutputError
from siting.folders import RUN, RUNS, claim_runs, remove_partial, write_folder
from siting.studies.bench import plan_bench, read_row
from siting.verify.checks import verify_run
from support import DEMO, ROOT, cli, solve_verified


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder`` with its bytes (None for a folder, the target
    for a link)."""
    return {str(p.relative_to(folder)): os.readlink(p).encode() if p.is_symlink() else
            None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


def refused(result, *words: str) -> None:
    """Assert a one-line error with exit code 2 that says ``words``."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:"), result.output
    for word in words:
        assert word in lines[0], result.output


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A verified run folder of the demo instance."""
    out = tmp_path_factory.mktemp("files") / "run"
    solve_verified(DEMO, out)
    return out


@pytest.fixture
def no_solve(monkeypatch):
    """Fail the test if the CLI starts solving: refusals come before any solve."""
    def solve(*args, **kwargs):
        raise AssertionError("solved although the output was refused")

    monkeypatch.setattr(siting.engine.pipeline, "solve", solve)  # the CLI imports it when solving


# 1. Scenario names are plain names: they choose the default run folder.

@pytest.mark.parametrize("name", ["/victim", "../../victim", "../victim", ".", "..", "",
                                  "  ", "a/b", "a\\b", ".hidden", "tab\there"])
def test_a_scenario_name_that_is_not_a_plain_name_is_refused(tmp_path, monkeypatch, no_solve,
                                                              name):
    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    (tmp_path / "runs" / "demo" / "other").mkdir(parents=True)
    (tmp_path / "runs" / "demo" / "other" / "keep.txt").write_text("another run")
    scenario = tmp_path / "odd.toml"
    name = str(victim) if name == "/victim" else name  # an absolute path
    scenario.write_text(f"[scenario]\nname = {json.dumps(name)}\n")
    before = snapshot(tmp_path)
    refused(cli("solve", DEMO, "--scenario", scenario), "odd.toml", "scenario.name")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["../../../victim", "..", ".", "a/b", ".hidden"])
def test_a_bench_refuses_a_profile_name_that_is_not_a_plain_name(tmp_path, no_solve, name):
    # With two profiles each run's folder ends in the profile's name.
    victim = tmp_path / "victim"
    shutil.copytree(DEMO, victim)
    profile = tmp_path / "odd.toml"
    profile.write_text(f"[solver]\nname = {json.dumps(name)}\n")
    before = snapshot(tmp_path)
    refused(cli("bench", DEMO, "--scenarios", "baseline", "--solver", "highs-quick",
                "--solver", profile, "--jobs", "1", "--out", tmp_path / "bench"),
            "odd.toml", "solver.name")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("file", ["..toml", "...toml", ".hidden.toml"])
def test_a_bench_refuses_a_scenario_file_name_that_is_not_a_plain_name(tmp_path, no_solve,
                                                                       file):
    instance = tmp_path / "instance"
    shutil.copytree(DEMO, instance)
    (instance / "scenarios" / file).write_text("[scenario]\nname = \"fine\"\n")
    before = snapshot(tmp_path)
    refused(cli("bench", instance, "--jobs", "1", "--out", tmp_path / "bench"),
            file, "file name")
    assert snapshot(tmp_path) == before


def test_a_bench_refuses_a_scenario_naming_a_site_the_instance_lacks(tmp_path, no_solve):
    instance = tmp_path / "instance"
    shutil.copytree(DEMO, instance)
    (instance / "scenarios" / "odd.toml").write_text(
        '[[policy]]\ntype = "force_open"\nsites = ["nowhere"]\n')
    before = snapshot(tmp_path)
    refused(cli("bench", instance, "--jobs", "1", "--out", tmp_path / "bench"),
            "odd.toml", "policy[1].sites", "unknown sites ['nowhere']")
    assert snapshot(tmp_path) == before


# 2. --out replaces only a folder siting wrote, and is checked before solving.

def solve_out_cases(tmp: Path, run: Path) -> dict[str, tuple[Path, Path]]:
    """Each refused ``solve --out`` target: (the --out given, the victim that must survive)."""
    instance = tmp / "instance"
    shutil.copytree(DEMO, instance)
    docx = tmp / "file.docx"
    docx.write_bytes(b"PK\x03\x04 a document")
    folder = tmp / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("keep me")
    unmarked = tmp / "old-run"
    shutil.copytree(run, unmarked)
    (unmarked / RUN.marker).unlink()  # a run of an older siting, or a folder made by hand
    bench = tmp / "bench"
    claim_runs(bench)
    (bench / "comparison.csv").write_text("run\n")
    return {"instance": (instance, instance), "file": (docx, docx), "folder": (folder, folder),
            "unmarked run": (unmarked, unmarked), "bench folder": (bench, bench),
            "under a file": (docx / "run", docx)}


@pytest.mark.parametrize("case", ["instance", "file", "folder", "unmarked run", "bench folder",
                                  "under a file"])
def test_solve_out_refuses_what_siting_did_not_write(tmp_path, run, no_solve, case):
    out, victim = solve_out_cases(tmp_path, run)[case]
    before = snapshot(tmp_path)
    refused(cli("solve", DEMO, "--out", out), str(victim))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("out", [".", "", ".."])
def test_solve_out_refuses_the_working_directory(tmp_path, monkeypatch, no_solve, out):
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("years of work")
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    refused(cli("solve", DEMO, "--out", out), "working directory")
    assert snapshot(tmp_path) == before


def test_solve_out_refuses_an_unwritable_place_before_solving(no_solve):
    refused(cli("solve", DEMO, "--out", "/proc/siting-run"), "cannot be written")


@pytest.mark.parametrize("name", ["x" * 240, "x" * 300, "電" * 85], ids=["240", "300", "cjk"])
def test_a_name_too_long_for_the_file_system_is_refused_before_solving(tmp_path, monkeypatch,
                                                                       run, no_solve, name):
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "long.toml"
    scenario.write_text(f"[scenario]\nname = {json.dumps(name)}\n")
    refused(cli("solve", DEMO, "--scenario", scenario), "scenario.name", "bytes")
    refused(cli("solve", DEMO, "--out", tmp_path / name), "bytes long")
    refused(cli("solve", DEMO, "--out", tmp_path / (name * 2) / "run"), "bytes long")
    refused(cli("map", run, "--out", tmp_path / f"{name}.html"), "bytes long")
    assert [p.name for p in tmp_path.iterdir()] == ["long.toml"]


@pytest.mark.parametrize("link", ["loop", "nowhere"])
def test_solve_out_through_a_broken_link_is_refused_before_solving(tmp_path, no_solve, link):
    (tmp_path / "link").symlink_to("link" if link == "loop" else tmp_path / "nowhere")
    before = snapshot(tmp_path)
    refused(cli("solve", DEMO, "--out", tmp_path / "link"), "link", "not a folder")
    refused(cli("solve", DEMO, "--out", tmp_path / "link" / "run"),
            "a link to nothing, or a loop of links")
    assert snapshot(tmp_path) == before


def test_solve_out_replaces_a_run_folder_and_an_empty_folder(tmp_path, run):
    out = tmp_path / "run"
    shutil.copytree(run, out)
    (out / "periods.csv").write_text("year\n")  # a file siting writes, from an older run
    assert cli("map", out, "--out", out / "other.html").exit_code == 0  # a page siting drew
    solve_verified(DEMO, out, "--scenario", "mandate-95")
    assert not (out / "periods.csv").exists()
    assert not (out / "other.html").exists()
    assert (out / RUN.marker).is_file()
    (tmp_path / "empty").mkdir()
    solve_verified(DEMO, tmp_path / "empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "run"]


def strangers_cases(run: Path, instance: Path) -> dict[str, tuple[Path, str]]:
    """Each thing a planner may put in a run folder: (what to add, the words refusing it)."""
    def notes(folder: Path) -> None:
        (folder / "my-notes.txt").write_text("notes")

    def page(folder: Path) -> None:
        (folder / "index.html").write_text("<html>the team's own page</html>")

    def own_map(folder: Path) -> None:
        (folder / "map.html").write_text("<html>the team's own map</html>")

    def period(folder: Path) -> None:
        (folder / "periods" / "2030").mkdir(parents=True)
        (folder / "periods" / "2030" / "notes.txt").write_text("notes")

    def link(folder: Path) -> None:
        (folder.parent / "elsewhere.csv").write_text("the team's table")
        (folder / "flows.csv").unlink()
        (folder / "flows.csv").symlink_to(folder.parent / "elsewhere.csv")

    def kept_instance(folder: Path) -> None:
        shutil.copytree(instance, folder / "instance")

    return {"notes": (notes, "holds my-notes.txt, which siting did not write"),
            "page": (page, "holds index.html, which siting did not write"),
            "a map of the team's": (own_map, "holds map.html, which siting did not write"),
            "in a period": (period, "holds periods/2030/notes.txt"),
            "link": (link, "holds flows.csv"),
            "an instance": (kept_instance, "holds instance, which")}


@pytest.mark.parametrize("case", ["notes", "page", "a map of the team's", "in a period", "link",
                                  "an instance"])
def test_solve_out_refuses_a_run_folder_holding_what_siting_did_not_write(tmp_path, run, no_solve,
                                                                           case):
    out = tmp_path / "run"
    shutil.copytree(run, out)
    add, words = strangers_cases(run, DEMO)[case]
    add(out)
    before = snapshot(tmp_path)
    refused(cli("solve", DEMO, "--out", out), str(out), words, "move it or choose another --out")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(("where", "words"), [("run/instance", "holds the instance being read"),
                                              ("instance/run", "is inside the instance"),
                                              ("instance", "is inside the instance")])
def test_solve_out_refuses_the_instance_being_read(tmp_path, run, no_solve, where, words):
    shutil.copytree(run, tmp_path / "run")
    instance = tmp_path / where.split("/")[0] / ("instance" if where.startswith("run") else "")
    shutil.copytree(DEMO, instance, dirs_exist_ok=True)
    out = tmp_path / ("run" if where.startswith("run") else where)
    before = snapshot(tmp_path)
    refused(cli("solve", instance, "--out", out), words)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["bench", "pareto", "robust", "alternatives"])
def test_folders_of_runs_refuse_what_siting_did_not_write(tmp_path, run, command):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("keep me")
    shutil.copytree(run, tmp_path / "run")
    for out in (folder, tmp_path / "run", tmp_path / "run" / "solution.json"):
        before = snapshot(tmp_path)
        refused(cli(command, DEMO, "--jobs", "1", "--out", out), str(out))
        assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["bench", "pareto", "robust", "alternatives"])
def test_folders_of_runs_refuse_the_instance_being_read(tmp_path, command):
    instance = tmp_path / "instance"
    shutil.copytree(DEMO, instance)
    before = snapshot(tmp_path)
    refused(cli(command, instance, "--jobs", "1", "--out", instance / "runs"),
            "is inside the instance being read")
    assert snapshot(tmp_path) == before


def test_a_bench_refuses_a_run_folder_holding_a_planners_file_before_solving(tmp_path, run):
    (spec,) = plan_bench([DEMO], "baseline", out=tmp_path / "bench")
    claim_runs(tmp_path / "bench")
    shutil.copytree(run, spec.folder)
    (spec.folder / "my-notes.txt").write_text("notes")
    (spec.folder / "solution.json").write_text("{}")  # not current: the bench would solve it
    before = snapshot(tmp_path)
    refused(cli("bench", DEMO, "--scenarios", "baseline", "--jobs", "1", "--out",
                tmp_path / "bench"), str(spec.folder), "holds my-notes.txt")
    assert snapshot(tmp_path) == before


def test_map_writes_only_html_pages_siting_wrote(tmp_path, run):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    page = tmp_path / "index.html"
    page.write_text("<html>the team's own page</html>")
    (tmp_path / "notes.html").mkdir()
    (tmp_path / "dangling.html").symlink_to(tmp_path / "nowhere.html")
    (tmp_path / "linked.html").symlink_to(folder / "map.html")  # a page siting wrote, elsewhere
    for out, words in ((folder / "solution.json", "expected an .html file"),
                       (folder, "expected an .html file"), (tmp_path / "notes.html", "is a folder"),
                       (page, "not a page siting wrote"), (tmp_path / "dangling.html", "a link"),
                       (tmp_path / "linked.html", "a link")):
        before = snapshot(tmp_path)
        refused(cli("map", folder, "--out", out), str(out), words)
        refused(cli("map", "--compare", folder, folder, "--out", out), str(out), words)
        assert snapshot(tmp_path) == before
    for out in (folder / "map.html", tmp_path / "new.html", tmp_path / "new.html"):  # new, then own
        result = cli("map", folder, "--out", out)
        assert result.exit_code == 0, result.output
        assert "generator" in out.read_text()[:4096]


def test_generate_writes_only_a_new_instance(tmp_path):
    instance = tmp_path / "instance"
    shutil.copytree(DEMO, instance)
    before = snapshot(tmp_path)
    refused(cli("generate", instance), str(instance), "not an empty folder")
    refused(cli("generate", tmp_path / "two-tier", "--sites", "1", "--tiers", "2"), "--sites")
    assert snapshot(tmp_path) == before
    result = cli("generate", tmp_path / "new", "--regions", "5", "--sites", "2", "--tiers", "2")
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "new").iterdir()} == {"instance.toml", "regions.csv",
                                                               "sites.csv"}


def test_import_writes_only_a_new_instance(tmp_path):
    cap = tmp_path / "cap.txt"
    cap.write_text("2 2\n10 5\n10 6\n4\n1 2\n6\n3 4\n")
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "instance.toml").write_text("[instance]\n")
    before = snapshot(tmp_path)
    refused(cli("import", "orlib-cap", cap, tmp_path / "instance"), "not an empty folder")
    assert snapshot(tmp_path) == before
    result = cli("import", "orlib-cap", cap, tmp_path / "new")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "instance.toml").is_file()


# 3. Concurrent writers of one --out: no error, no leftovers, a whole run at the end.

WRITER = textwrap.dedent("""
    import shutil, sys
    from pathlib import Path
    from siting.folders import write_folder
    source, out, writes = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    def fill(folder):
        for path in source.iterdir():
            if path.name != ".siting-run":
                shutil.copy2(path, folder / path.name)
    for _ in range(writes):
        write_folder(out, fill)
""")


def test_eight_processes_writing_one_out_leave_one_whole_run(tmp_path, run):
    out = tmp_path / "runs" / "demo"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(run), str(out), "25"],
                                env=env, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    errors = [w.communicate(timeout=600)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * 8, errors
    assert [p.name for p in out.parent.iterdir()] == ["demo"]
    assert snapshot(out).keys() == snapshot(run).keys()
    assert verify_run(out).ok


def test_a_parent_folder_made_by_another_writer_meanwhile_is_no_error(tmp_path, run,
                                                                      monkeypatch):
    # The interleaving the eight writers hit now and then: this writer looked for the
    # nearest existing parent before another one made runs/.
    (tmp_path / "runs").mkdir()
    monkeypatch.setattr("siting.folders._existing_parent", lambda path: tmp_path)
    out = write_folder(tmp_path / "runs" / "demo", lambda folder: shutil.copytree(
        run, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".siting-run")))
    assert snapshot(out).keys() == snapshot(run).keys()
    assert verify_run(out).ok


# 4. A write killed with SIGKILL leaves nothing taken for a finished run, and no leftover.

def stopped_solve(out: Path, step: str) -> None:
    """Run ``siting solve`` until it reaches ``step`` of its write, then SIGKILL it."""
    env = {**os.environ, "SITING_STOP_AT": step,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    with subprocess.Popen([sys.executable, "-m", "siting", "solve", str(DEMO), "--out",
                           str(out)], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE) as process:
        _, status = os.waitpid(process.pid, os.WUNTRACED)  # returns once it has stopped itself
        assert os.WIFSTOPPED(status), process.stderr.read()
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize(("step", "previous"), [("solution.json", False), ("filled", False),
                                                ("marked", False), ("marked", True),
                                                ("swapping", True)])
def test_a_killed_write_leaves_nothing_taken_for_a_finished_run(tmp_path, run, step,
                                                                 previous):
    bench = tmp_path / "bench"
    (spec,) = plan_bench([DEMO], "baseline", out=bench)
    claim_runs(bench)
    if previous:
        shutil.copytree(run, spec.folder)
    before = snapshot(spec.folder) if previous else None
    stopped_solve(spec.folder, step)
    if previous and step != "swapping":
        assert snapshot(spec.folder) == before
        assert verify_run(spec.folder).ok
    else:
        assert not spec.folder.exists()
        refused(cli("verify", spec.folder), "not a run folder")
        assert read_row(spec)["status"] == "not run"
    left = [p for p in spec.folder.parent.iterdir() if p != spec.folder]
    assert left, "the kill came before anything was written"
    for folder in left:
        refused(cli("verify", folder), "not a finished run folder")
    if previous and step == "swapping":  # killed between its two renames: the previous run
        remove_partial(spec.folder)  # is only in a hidden .siting-old-*, put back, not removed
        assert snapshot(spec.folder) == before
        assert verify_run(spec.folder).ok
    solve_verified(DEMO, spec.folder)  # the next write of the folder removes the leftovers
    assert [p.name for p in spec.folder.parent.iterdir()] == ["baseline"]
    assert (bench / RUNS.marker).is_file()


def test_a_full_disk_is_one_line_exit_6_and_keeps_the_previous_run(tmp_path, run, monkeypatch):
    out = tmp_path / "run"
    shutil.copytree(run, out)
    before = snapshot(tmp_path)
    write_text = Path.write_text

    def full(path: Path, *args, **kwargs):
        if path.name == "flows.csv":
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    result = cli("solve", DEMO, "--out", out)
    assert result.exit_code == 6, result.output
    assert result.output.strip().splitlines() == [
        f"error: {out}: could not be written (No space left on device); nothing of it was "
        "written: free some space or choose another place"]
    assert snapshot(tmp_path) == before


def test_a_file_size_limit_is_one_line_exit_6_and_writes_nothing(tmp_path):
    """A real limit (``ulimit -f``): the GeoPackage or the map cannot be written whole."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    limit = 100_000  # bytes: the tables fit, solution.gpkg (about 140 kB) does not
    process = subprocess.run(
        [sys.executable, "-m", "siting", "solve", str(DEMO), "--out", str(tmp_path / "run")],
        env=env, capture_output=True, text=True, timeout=600,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert process.returncode == 6, process.stderr
    assert process.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'run'}: could not be written (solution.gpkg: Failed to commit "
        "transaction); nothing of it was written: free some space or choose another place"]
    assert list(tmp_path.iterdir()) == []


def test_a_failed_swap_puts_the_previous_run_back(tmp_path, run, monkeypatch):
    out = tmp_path / "run"
    shutil.copytree(run, out)
    before = snapshot(out)
    replace = os.replace

    def fail_into_place(source, target):  # the second rename of the swap fails
        if ".siting-tmp-" in str(source) and Path(target) == out:
            raise OSError(errno.EIO, "Input/output error")
        replace(source, target)

    monkeypatch.setattr(os, "replace", fail_into_place)
    with pytest.raises(OutputError, match="Input/output error"):
        write_folder(out, lambda folder: (folder / "solution.json").write_text("{}"))
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_writer_dead_between_its_renames_leaves_the_previous_run_to_the_next(tmp_path, run):
    """The state a crash between the swap's renames leaves: the next writer puts it back."""
    out = tmp_path / "run"
    shutil.copytree(run, tmp_path / ".run.siting-old-abcd1234")
    (tmp_path / ".run.siting-tmp-efgh5678").mkdir()
    (tmp_path / ".run.siting-tmp-efgh5678" / "solution.json").write_text("{}")
    before = snapshot(tmp_path / ".run.siting-old-abcd1234")
    def fail(folder: Path) -> None:  # the next write fails too: what is left is the previous run
        raise RuntimeError("this write fails")

    with pytest.raises(RuntimeError):
        write_folder(out, fail)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert verify_run(out).ok


# 5. A malformed run folder is one line and exit 2 for verify and map.

def edit_meta(change):
    def damage(folder: Path) -> None:
        meta = json.loads((folder / "solution.json").read_text())
        change(meta)
        (folder / "solution.json").write_text(json.dumps(meta))
    return damage


def edit_table(name: str, change):
    def damage(folder: Path) -> None:
        path = folder / f"{name}.csv"
        rows = [line.split(",") for line in path.read_text().splitlines()]
        path.write_text("\n".join(",".join(row) for row in change(rows)) + "\n")
    return damage


def drop_column(name: str, column: str):
    def change(rows: list[list[str]]) -> list[list[str]]:
        at = rows[0].index(column)
        return [row[:at] + row[at + 1:] for row in rows]
    return edit_table(name, change)


def set_cell(name: str, column: str, value: str):
    def change(rows: list[list[str]]) -> list[list[str]]:
        rows[1][rows[0].index(column)] = value
        return rows
    return edit_table(name, change)


def write(file: str, text: str):
    return lambda folder: (folder / file).write_text(text)


def delete(file: str):
    return lambda folder: (folder / file).unlink()


def replace_text(file: str, old: str, new: str):
    return lambda folder: (folder / file).write_text((folder / file).read_text()
                                                     .replace(old, new, 1))


TOTAL_COST_1E999 = replace_text("solution.json", '"total_cost": ', '"total_cost": 1e999, "x": ')


CORRUPTIONS = {  # case: (damage, words of the error)
    "no solution.json": (delete("solution.json"), "solution.json"),
    "garbled solution.json": (write("solution.json", '{"kpis": '), "unreadable"),
    "solution.json a list": (write("solution.json", "[1, 2]"), "solution.json"),
    "no kpis": (edit_meta(lambda m: m.pop("kpis")), "kpis"),
    "no instance path": (edit_meta(lambda m: m["instance"].pop("path")), "instance.path"),
    "cost as text": (edit_meta(lambda m: m["kpis"]["cost"].update(fixed="12")),
                     "kpis.cost.fixed"),
    "policies a table": (edit_meta(lambda m: m["scenario"].update(policies={"type": "x"})),
                         "scenario.policies"),
    "objective null": (edit_meta(lambda m: m.update(objective=None)), "objective"),
    "scenario a string": (edit_meta(lambda m: m.update(scenario="baseline")), "scenario"),
    "by_province rate a list": (edit_meta(lambda m: next(iter(
        m["kpis"]["by_province"].values())).update(collection_rate=[1])), "by_province"),
    "no flows.csv": (delete("flows.csv"), "flows.csv"),
    "empty regions.csv": (write("regions.csv", ""), "regions.csv"),
    "no tonnes column": (drop_column("flows", "tonnes"), "tonnes"),
    "no open column": (drop_column("facilities", "open"), "open"),
    "tonnes as text": (set_cell("flows", "tonnes", "many"), "row 2, tonnes"),
    "capacity empty": (set_cell("facilities", "capacity", ""), "row 2, capacity"),
    "open neither true nor false": (set_cell("facilities", "open", "yes"), "row 2, open"),
    "no marker": (delete(RUN.marker), RUN.marker),
    "a facility twice": (edit_table("facilities", lambda rows: [*rows, rows[1]]),
                         "the same id"),
    "a flow twice": (edit_table("flows", lambda rows: [*rows, rows[2]]), "the same origin_type"),
    "tonnes 1e999": (set_cell("flows", "tonnes", "1e999"), "expected a finite number"),
    "total cost 1e999": (TOTAL_COST_1E999, "1e999 is not a finite number"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_verify_and_map_of_a_malformed_run_folder_are_one_line(tmp_path, run, case):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    (folder / "map.html").unlink()
    damage, words = CORRUPTIONS[case]
    damage(folder)
    refused(cli("verify", folder), words)
    refused(cli("map", folder), words)
    assert not (folder / "map.html").exists()


def empty_regions_layer(folder: Path) -> None:
    with sqlite3.connect(folder / "solution.gpkg") as db:
        db.execute("DELETE FROM gpkg_contents WHERE table_name = 'regions'")


@pytest.mark.parametrize(("damage", "words"), [
    (write("solution.gpkg", "garbage"), "not recognized"),
    (write("solution.gpkg", ""), "not recognized"),
    (empty_regions_layer, "layer regions: no geometry"),
], ids=["garbage", "empty", "no regions layer"])
def test_map_of_a_broken_geopackage_is_one_line(tmp_path, run, damage, words):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    (folder / "map.html").unlink()
    damage(folder)
    refused(cli("map", folder), "solution.gpkg", words)
    assert not (folder / "map.html").exists()


def test_verify_of_a_run_without_a_stream_column_is_one_line(tmp_path, run):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    drop_column("regions", "uncollected_lfp")(folder)
    refused(cli("verify", folder), "regions.csv", "uncollected_lfp")


# 6. A bench run edited by hand is named in its row and solved again.

TAMPERED_BENCH = {  # case: (damage, words of the row's message)
    "garbled solution.json": (write("solution.json", '{"kpis": '), "solution.json"),
    "total cost 1e999": (TOTAL_COST_1E999, "1e999"),
    "no verification.json": (delete("verification.json"), "verification.json"),
    "verification ok missing": (write("verification.json", '{"problems": []}'), "ok"),
    "marginal cost as text": (edit_meta(lambda m: m.update(marginal_costs=[
        {"policy": "x", "value": "many"}])), "marginal_costs"),
    "failure.json instead": (lambda f: (delete("solution.json")(f),
                                        write("failure.json", "[]")(f)), "failure.json"),
}


def bench_demo(out: Path) -> None:
    result = cli("bench", DEMO, "--scenarios", "baseline", "--jobs", "1", "--no-maps", "--out",
                 out)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def finished_bench(tmp_path_factory) -> Path:
    """A finished bench of the demo's baseline (copied by each test that edits it)."""
    out = tmp_path_factory.mktemp("bench") / "bench"
    bench_demo(out)
    return out


@pytest.mark.parametrize("case", list(TAMPERED_BENCH))
def test_a_tampered_bench_run_is_named_unreadable(tmp_path, finished_bench, case):
    shutil.copytree(finished_bench, tmp_path / "bench")
    (spec,) = plan_bench([DEMO], "baseline", out=tmp_path / "bench")
    assert read_row(spec)["verified"]
    damage, words = TAMPERED_BENCH[case]
    damage(spec.folder)
    row = read_row(spec)
    assert (row["status"], row["has_solution"]) == ("unreadable", False)
    assert words in row["message"], row["message"]


def test_a_tampered_bench_run_is_solved_again(tmp_path, finished_bench):
    shutil.copytree(finished_bench, tmp_path / "bench")
    (spec,) = plan_bench([DEMO], "baseline", out=tmp_path / "bench")
    TAMPERED_BENCH["total cost 1e999"][0](spec.folder)
    bench_demo(tmp_path / "bench")
    assert read_row(spec)["verified"]
    assert verify_run(spec.folder).ok
