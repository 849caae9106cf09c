"""`telepathy sweep` for real: a local grid in parallel worker processes, killed mid-way and re-invoked; the SLURM path
through a recording `sbatch` and submitit's own task runner; submitit's local executor; TensorBoard through accelerate;
bad input refused before anything is written; the sweep report in Chromium."""
import os, re, signal, subprocess, sys, time
from pathlib import Path
import pytest
from telepathy_nb.cli import main
from telepathy_nb.core import read_json, read_jsonl
from telepathy_nb.sweep import read_index, sweep_spec
from telepathy_nb.rundir import latest_checkpoint
from pages import need_chromium, open_offline

TINY = ["-p", "eval_size=8", "-p", "quick_eval_every=0"]


def _cli(*args, root, env=None, **kw):
    "The real console command in a subprocess (its own process group, so a test can kill the whole tree)."
    exe = Path(sys.executable).with_name("telepathy")
    return subprocess.Popen([str(exe), *args, "--root", str(root)], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kw)


def _tree(pid: int) -> list[int]:
    "pid and every process below it (kernels lead their own sessions, so a process-group kill would miss them)."
    out, todo = [], [pid]
    while todo:
        p = todo.pop(); out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try: todo += [int(x) for x in (task / "children").read_text().split()]
            except OSError: pass
    return out


def _sweep_dir(root: Path) -> Path:
    found = sorted((root / "sweeps").glob("*"))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("args,message", [
    (["train_bridge"], "empty grid: no parameter to sweep"),
    (["train_bridge", "-p", "stepz=1,2"], "template 'train_bridge' has no parameter(s) ['stepz']"),
    (["train_bridge", "-p", "soft_tokens=2,0", "-p", "seed=0,1"],
     "combination 3 of 4 (seed=0,soft_tokens=0) fails validation: soft_tokens must be positive"),
    (["train_bridge", "-p", "seed=0,1", "--executor", "slurm"], "needs SLURM's sbatch and srun on PATH"),
    (["train_bridge", "-p", "seed=0,1", "--max-parallel", "0"], "--max-parallel must be >= 1"),
    (["--resume", "nowhere"], "is not a sweep folder"),
])
def test_bad_input_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")          # no sbatch here, whatever the machine has
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", *args, "--root", str(tmp_path / "runs")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_missing_submitit_is_named(tmp_path):
    code = ("import sys; sys.modules['submitit'] = None\nfrom telepathy_nb.cli import main\n"
            f"sys.exit(main(['sweep', 'train_bridge', '-p', 'seed=0,1', '--executor', 'submitit-local', '--root', {str(tmp_path)!r}]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 2 and "needs the submitit package, which is not installed" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == []


def test_local_sweep_runs_in_parallel_survives_a_kill_and_resumes(tmp_path):
    root = tmp_path / "runs"
    args = ["sweep", "train_bridge", *TINY, "-p", "steps=60", "-p", "checkpoint_every=5", "-p", "log_every=5",
            "-p", "soft_tokens=1,2", "-p", "seed=0,1", "--max-parallel", "2", "--name", "grid"]
    proc = _cli(*args, root=root)
    # wait for two finished runs and a third one part-way (a checkpoint, no summary of success yet)
    deadline, victim = time.time() + 400, None
    while time.time() < deadline and victim is None:
        time.sleep(0.05)
        runs = sorted((root / "train_bridge").glob("*")) if (root / "train_bridge").exists() else []
        done = [d for d in runs if (read_json(d / "summary.json") if (d / "summary.json").exists() else {}).get("status") == "success"]
        part = [d for d in runs if d not in done and latest_checkpoint(d) is not None]
        if len(done) >= 2 and part: victim = part[0]
    for pid in _tree(proc.pid):                          # the driver, its workers and their kernels: a node dying
        try: os.kill(pid, signal.SIGKILL)
        except ProcessLookupError: pass
    printed = proc.communicate()[0]
    assert victim is not None, printed
    killed_at = int(latest_checkpoint(victim).name.split("-")[1])
    assert killed_at < 60
    finished = {d: (d / "summary.json").read_bytes() for d in done}

    out, _ = _cli(*args, root=root).communicate(timeout=600)   # the same command again
    sweep_dir = _sweep_dir(root)
    index = read_index(sweep_dir)
    assert [e["status"] for e in index["runs"]] == ["success"] * 4, out
    assert len(list((root / "train_bridge").glob("*"))) == 4, "a finished run was done twice"
    assert all(d.joinpath("summary.json").read_bytes() == b for d, b in finished.items()), "a finished run was touched"
    assert f"resumed from {victim / 'checkpoints'}" in (victim / "run.ipynb").read_text()
    steps = [r["step"] for r in read_jsonl(victim / "metrics.jsonl") if r["kind"] == "train"]
    assert steps == list(range(5, 61, 5)), steps                    # no step lost or logged twice
    s = [read_json(Path(e["run_dir"]) / "summary.json") for e in index["runs"][:2]]
    assert s[0]["started"] < s[1]["finished"] and s[1]["started"] < s[0]["finished"], "the first two runs did not overlap"
    assert sorted(p.name for p in (sweep_dir / "logs").iterdir()) == sorted(f"{e['key']}.log" for e in index["runs"])
    assert sweep_spec(sweep_dir)["command"].startswith("telepathy sweep train_bridge")

    need_chromium()
    html = sweep_dir / "sweep_report.html"
    seen = open_offline(html, 2, screenshot=tmp_path / "sweep.png")
    assert not seen["problems"] and not seen["external"], seen
    titles = [p["title"] for p in seen["plots"]]
    assert any(t.startswith("Final accuracy against each swept parameter") for t in titles), titles
    curves = [p for p in seen["plots"] if p["title"].startswith("Training curves")]
    assert curves and curves[0]["lines"] >= 2 * 3, curves     # 2 configurations x (loss, rank, rank) at least
    page = html.read_text()
    assert "soft_tokens=1" in page and "soft_tokens=2" in page


def test_sigterm_to_a_local_sweep_interrupts_every_run_and_leaves_no_kernel(tmp_path):
    "`kill PID` or a time limit on the sweep alone: its workers are told, each records `interrupted`, no kernel trains on."
    root = tmp_path / "runs"
    proc = _cli("sweep", "train_bridge", *TINY, "-p", "steps=400", "-p", "checkpoint_every=20", "-p", "log_every=5",
                "-p", "seed=0,1", "--max-parallel", "2", "--name", "term", root=root)
    deadline = time.time() + 400
    while time.time() < deadline:
        runs = sorted((root / "train_bridge").glob("*")) if (root / "train_bridge").exists() else []
        if len(runs) == 2 and all(latest_checkpoint(d) is not None for d in runs): break
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        time.sleep(0.05)
    tree = _tree(proc.pid)
    proc.send_signal(signal.SIGTERM)                      # the sweep only, not its process group
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 143, out
    for d in runs:
        s = read_json(d / "summary.json")
        assert (s["status"], s["error"]) == ("interrupted", "stopped by SIGTERM (kill, timeout, or a scheduler's time limit)"), (d, s)
    alive = [p for p in tree if Path(f"/proc/{p}").exists() and "\nState:\tZ" not in Path(f"/proc/{p}/status").read_text()]
    assert not alive, f"processes of the sweep outlived it: {alive}"


FAKE_SBATCH = """#!/bin/bash
n=$(ls {log} | grep -c '^script' || true)
cp "$1" {log}/script$n.sh
echo "$@" >> {log}/sbatch_args
echo "Submitted batch job 4242"
"""
FAKE_SQUEUE = """#!/bin/bash
cat {log}/queued 2>/dev/null
"""
FAKE_SRUN = """#!/bin/bash
echo "srun is never called here: the test runs the task's command itself" >&2; exit 1
"""


def _fake_slurm(tmp_path) -> tuple[Path, dict]:
    bin_, log = tmp_path / "bin", tmp_path / "slurmlog"
    bin_.mkdir(); log.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("squeue", FAKE_SQUEUE), ("srun", FAKE_SRUN)):
        (bin_ / name).write_text(text.format(log=log)); (bin_ / name).chmod(0o755)
    return log, {"PATH": f"{bin_}:{os.environ['PATH']}"}


def test_slurm_array_through_a_recording_sbatch(tmp_path):
    log, env = _fake_slurm(tmp_path)
    root = tmp_path / "runs"
    p = _cli("sweep", "train_bridge", *TINY, "-p", "steps=3", "-p", "seed=0,1,2", "--executor", "slurm", "--max-parallel", "2",
             "--slurm-partition", "gpu", "--slurm-gpus-per-node", "2", "--slurm-time", "30", "--slurm-setup", "echo setting-up",
             "--name", "onslurm", root=root, env=env)
    out, _ = p.communicate(timeout=300)
    assert p.returncode == 0, out
    assert "submitted SLURM array 4242 (3 tasks)" in out
    script = (log / "script0.sh").read_text()
    assert not (log / "script1.sh").exists(), "one array, one sbatch"
    for line in ("#SBATCH --array=0-2%2", "#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2", "#SBATCH --time=30",
                 "#SBATCH --cpus-per-task=8", "#SBATCH --job-name=telepathy-onslurm", "echo setting-up"):
        assert line in script, (line, script)
    command = next(l for l in script.splitlines() if "submitit.core._submit" in l)
    assert command.startswith("srun ") and re.search(r" \S*/python[\d.]* -u -m submitit\.core\._submit ", command), command
    sweep_dir = _sweep_dir(root)
    index = read_index(sweep_dir)
    assert [e["job"] for e in index["runs"]] == ["4242_0", "4242_1", "4242_2"]
    assert all(Path(e["run_dir"]).is_dir() for e in index["runs"])      # folders are given before submission

    # SLURM runs array task 1: the command the script holds, with the environment SLURM gives a task
    folder = command.split("submitit.core._submit", 1)[1].strip().strip("'")
    task_env = {**os.environ, "SUBMITIT_EXECUTOR": "slurm", "SLURM_JOB_ID": "4244", "SLURM_ARRAY_JOB_ID": "4242",
                "SLURM_ARRAY_TASK_ID": "1", "SLURM_NTASKS": "1", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0",
                "SLURM_JOB_NUM_NODES": "1", "SLURM_JOB_NODELIST": "localhost"}
    task = subprocess.run([sys.executable, "-u", "-m", "submitit.core._submit", folder], env=task_env, capture_output=True, text=True,
                          timeout=300)
    assert task.returncode == 0, task.stdout + task.stderr
    ran = read_json(Path(index["runs"][1]["run_dir"]) / "summary.json")
    assert ran["status"] == "success" and ran["seed"] == 1
    assert not (Path(index["runs"][0]["run_dir"]) / "params.yaml").exists()

    # tasks 0 and 2 are still queued: resuming collects task 1 and submits nothing again
    (log / "queued").write_text("4242_0\n4242_2\n")
    r = _cli("sweep", "--resume", str(sweep_dir), root=root, env=env)
    out, _ = r.communicate(timeout=300)
    assert r.returncode == 0, out
    assert [e["status"] for e in read_index(sweep_dir)["runs"]] == ["queued", "success", "queued"]
    assert not (log / "script1.sh").exists()


def test_submitit_local_executor_runs_the_tasks(tmp_path):
    root = tmp_path / "runs"
    out, _ = _cli("sweep", "train_bridge", *TINY, "-p", "steps=3", "-p", "seed=0,1", "--executor", "submitit-local",
                  "--no-report", root=root).communicate(timeout=400)
    index = read_index(_sweep_dir(root))
    assert [e["status"] for e in index["runs"]] == ["success", "success"], out
    assert all(e["job"] for e in index["runs"])


def test_tensorboard_tracker_writes_the_logged_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from telepathy_nb.runs import launch
    run = launch("train_bridge", {"steps": 6, "log_every": 2, "quick_eval_every": 3, "eval_size": 8, "log_with": "tensorboard"},
                 name="tb", root=tmp_path, progress=False, render=False)
    assert read_json(run / "summary.json")["status"] == "success"
    events = list((run / "trackers" / run.name).glob("events.out.tfevents.*"))
    assert events, list((run / "trackers").rglob("*"))
    acc = EventAccumulator(str(events[0].parent)); acc.Reload()
    metrics = read_jsonl(run / "metrics.jsonl")
    lm = acc.Scalars("train/lm_loss")
    assert [e.step for e in lm] == [2, 4, 6]
    want = [r["lm_loss"] for r in metrics if r["kind"] == "train"]
    assert all(abs(e.value - w) < 1e-5 * max(1, abs(w)) for e, w in zip(lm, want))
    assert [e.step for e in acc.Scalars("quick_eval/quick_eval_acc")] == [3, 6]
    assert {"train/slot_rank", "train/message_rank", "train/z_var"} <= set(acc.Tags()["scalars"])
