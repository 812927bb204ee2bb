"""A normal (non-editable) install solves: the wheel carries the solver profiles."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from support import DEMO, ROOT


def run(*args, cwd=None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the venv's siting
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow  # about a minute; .ci/run also installs non-editably and solves
def test_wheel_installed_in_a_fresh_venv_solves_from_another_folder(tmp_path):
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", ROOT)
    (wheel,) = (tmp_path / "dist").glob("siting-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"siting/profiles/highs.toml", "siting/profiles/highs-quick.toml"} <= set(names)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    where = run(python, "-c", "import siting; print(siting.__file__)")
    assert where.startswith(str(venv))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run(venv / "bin" / "siting", "solve", DEMO, "--out", "run", "--quiet", cwd=elsewhere)
    run(venv / "bin" / "siting", "solve", DEMO, "--solver", "highs-quick", "--out", "quick",
        "--quiet", cwd=elsewhere)
    assert "verified" in run(venv / "bin" / "siting", "verify", "run", cwd=elsewhere)
    assert "verified" in run(venv / "bin" / "siting", "verify", "quick", cwd=elsewhere)
