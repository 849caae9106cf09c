"""The package works from a wheel, anywhere: templates ship inside it, runs land under the working directory."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    "Build the wheel from this checkout and install it (no dependencies: the test environment has them) into a folder."
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(tmp / "dist")],
                   check=True, cwd=tmp)
    wheel = next((tmp / "dist").glob("telepathy_nb-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp / "site"), str(wheel)], check=True)
    return tmp / "site"


def _telepathy(site, cwd, *args):
    "The installed console command, in `cwd`, importing telepathy_nb from the wheel only (the checkout is not on any path)."
    env = {k: v for k, v in os.environ.items() if k not in ("TELEPATHY_TEMPLATES", "TELEPATHY_RUNS_DIR")}
    env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, str(site / "bin" / "telepathy"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_wheel_runs_a_template_in_an_empty_directory(wheel_site, tmp_path):
    assert (wheel_site / "telepathy_nb" / "templates" / "train_bridge.ipynb").exists()
    env = {**os.environ, "PYTHONPATH": str(wheel_site)}
    where = subprocess.run([sys.executable, "-c", "import telepathy_nb.runs as r; print(r.__file__); print(r.templates_dir())"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(w.startswith(str(wheel_site)) for w in where), where      # code and templates come from the wheel
    work = tmp_path / "empty"; work.mkdir()
    r = _telepathy(wheel_site, work, "run", "train_bridge", "-p", "preset=tiny", "-p", "steps=4", "-p", "eval_size=8",
                   "--name", "fromwheel")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    runs = list((work / "papermill_runs" / "train_bridge").iterdir())
    assert len(runs) == 1 and json.loads((runs[0] / "summary.json").read_text())["status"] == "success"
    listed = _telepathy(wheel_site, work, "list")
    assert listed.returncode == 0 and "fromwheel" in listed.stdout and "success" in listed.stdout, listed.stdout + listed.stderr
