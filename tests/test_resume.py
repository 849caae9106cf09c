"""Runs you can trust: the `telepathy` command driven as a user drives it, with relative paths, from a
working directory that is not the repository; kills, Ctrl-C, a second writer, crafted checkpoints."""
import os, pickle, signal, subprocess, sys, time
from pathlib import Path
import pytest
import yaml
from telepathy_nb.core import read_json, read_jsonl, TelepathyError
from telepathy_nb.config import make_config
from telepathy_nb.train import train
from telepathy_nb.rundir import latest_checkpoint
from telepathy_nb.runs import launch, run_outcome
from telepathy_nb.rundir import run_lock

# tiny preset, long enough to be killed mid-way (about 20 ms a step on a 2-core CPU)
LONG = ["-p", "steps=200", "-p", "log_every=1", "-p", "checkpoint_every=100", "-p", "quick_eval_every=50",
        "-p", "eval_size=16", "-p", "generation_eval=false"]
TELEPATHY = [sys.executable, "-c", "import sys; from telepathy_nb.cli import main; sys.exit(main())"]


def _cli(args, cwd, **kw):
    "`telepathy ARGS` in `cwd`, with the runs root left to its default (./papermill_runs there)."
    env = {k: v for k, v in os.environ.items() if k != "TELEPATHY_RUNS_DIR"}
    return subprocess.Popen([*TELEPATHY, *args], cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _finish(proc, timeout=300) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def _only_run(cwd) -> Path:
    runs = sorted((Path(cwd) / "papermill_runs" / "train_bridge").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def _wait_for(pred, proc, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred(): return
        assert proc.poll() is None, f"the run ended before the kill: {proc.communicate()[0][-2000:]}"
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the run")


def _train_lines(run):
    return [(r["step"], r["kind"]) for r in read_jsonl(run / "metrics.jsonl")]


def _weights(run):
    from safetensors.torch import load_file
    return load_file(latest_checkpoint(run) / "bridge.safetensors")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    "The reference: the same run, never interrupted, driven the same way."
    cwd = tmp_path_factory.mktemp("full")
    code, out = _finish(_cli(["run", "train_bridge", *LONG, "--name", "full"], cwd))
    assert code == 0, out
    return _only_run(cwd)


def _kill_then_resume(tmp_path, ready) -> tuple[Path, int, str]:
    "Start a run in tmp_path/work, SIGKILL its process group once `ready(run)`, resume it as the README says."
    cwd = tmp_path / "work"; cwd.mkdir()
    proc = _cli(["run", "train_bridge", *LONG, "--name", "killme"], cwd)
    base = cwd / "papermill_runs" / "train_bridge"
    _wait_for(lambda: base.is_dir() and any(base.iterdir()) and ready(_only_run(cwd)), proc)
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    run = _only_run(cwd)
    rel = os.path.relpath(run, cwd)
    assert not Path(rel).is_absolute() and rel.startswith("papermill_runs")
    code, out = _finish(_cli(["run", "train_bridge", "--resume", rel], cwd))
    return run, code, out


def _assert_resumed_like(run, full, code, out):
    assert code == 0, out
    s = read_json(run / "summary.json")
    assert s["status"] == "success", s
    assert s["trained_steps"] == 200 and s["accuracy"] is not None
    assert Path(s["run_dir"]) == run
    assert not (run / "papermill_runs").exists(), "the resumed run wrote a nested run folder"
    assert len(list(run.parent.iterdir())) == 1, "the resume made another run folder"
    lines = _train_lines(run)
    assert lines == _train_lines(full), "metrics are not continuous, or steps are duplicated"
    a, b = _weights(run), _weights(full)
    assert all((a[k] - b[k]).abs().max() < 1e-6 for k in a), "the resumed run ended with other weights"


def test_resume_relative_after_kill_before_first_checkpoint(tmp_path, uninterrupted):
    has_steps = lambda run: sum(k == "train" for _, k in _train_lines(run)) >= 20
    run, code, out = _kill_then_resume(tmp_path, has_steps)
    _assert_resumed_like(run, uninterrupted, code, out)


def test_resume_relative_after_kill_after_a_checkpoint(tmp_path, uninterrupted):
    past_ckpt = lambda run: latest_checkpoint(run) is not None and max(s for s, _ in _train_lines(run)) > 110
    run, code, out = _kill_then_resume(tmp_path, past_ckpt)
    assert "resumed from" in (run / "run.ipynb").read_text()
    _assert_resumed_like(run, uninterrupted, code, out)


def test_relative_paths_are_resolved_at_launch(tmp_path, monkeypatch):
    "TELEPATHY_RUNS_DIR, TELEPATHY_DATA_DIR and state_cache given relative to the caller, not the kernel."
    work = tmp_path / "work"; work.mkdir()
    data = os.environ.get("TELEPATHY_DATA_DIR")
    monkeypatch.chdir(work)
    monkeypatch.setenv("TELEPATHY_RUNS_DIR", "my_runs")
    if data:
        os.symlink(data, work / "data"); monkeypatch.setenv("TELEPATHY_DATA_DIR", "data")
    run = launch("train_bridge", {"steps": 4, "eval_size": 8, "quick_eval_every": 0, "state_cache": "cache"},
                 name="rel", progress=False, render=False)
    assert run == work / "my_runs" / "train_bridge" / run.name
    cfg = read_json(run / "config.json")
    assert cfg["run_dir"] == str(run) and cfg["state_cache"] == str(work / "cache")
    assert (work / "cache" / "train").is_dir() and not (run / "cache").exists()
    assert read_json(run / "summary.json")["status"] == "success"


def test_success_needs_all_steps_and_an_accuracy(tmp_path):
    run = launch("train_bridge", {"steps": 4, "eval_size": 8, "quick_eval_every": 0}, name="ok", root=tmp_path,
                 progress=False, render=False)
    assert run_outcome(run, "train_bridge") is None
    good = (run / "status.json").read_text()
    st = read_json(run / "status.json"); st["step"] = 2
    (run / "status.json").write_text(__import__("json").dumps(st))
    assert run_outcome(run, "train_bridge") == "trained 2 of 4 steps"
    (run / "status.json").unlink()
    assert run_outcome(run, "train_bridge") == "trained 0 of 4 steps"
    (run / "status.json").write_text(good)
    os.remove(run / "eval_results.json")
    assert "no eval_results.json with an accuracy" in run_outcome(run, "train_bridge")


def test_results_written_elsewhere_are_not_success(tmp_path):
    "A notebook that put its results in another folder (the nested-folder bug) leaves this one incomplete."
    run = launch("train_bridge", {"steps": 4, "eval_size": 8, "quick_eval_every": 0}, name="ok", root=tmp_path,
                 progress=False, render=False)
    cfg = read_json(run / "config.json"); cfg["run_dir"] = str(run / "papermill_runs" / "x")
    (run / "config.json").write_text(__import__("json").dumps(cfg))
    assert "wrote to" in run_outcome(run, "train_bridge")


def test_incomplete_run_exits_nonzero(tmp_path, monkeypatch, capsys):
    "A template that ends without error but without its results: `incomplete: ...`, and the CLI exits 1."
    import json
    from telepathy_nb.cli import main
    from telepathy_nb.runs import template_path
    nb = json.loads(template_path("train_bridge").read_text())
    drop = ("evaluate_run(", "figures = show_run", "assert os.path.exists")   # the evaluation and what reads it
    nb["cells"] = [c for c in nb["cells"] if not any(d in "".join(c["source"]) for d in drop)]
    (tmp_path / "templates").mkdir(); (tmp_path / "templates" / "train_bridge.ipynb").write_text(json.dumps(nb))
    monkeypatch.setenv("TELEPATHY_TEMPLATES", str(tmp_path / "templates"))
    code = main(["run", "train_bridge", "-p", "steps=4", "-p", "quick_eval_every=0", "--root", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "status: incomplete: no eval_results.json with an accuracy" in out
    run = next((tmp_path / "runs" / "train_bridge").iterdir())
    s = read_json(run / "summary.json")
    assert s["status"] == "incomplete" and s["error"].startswith("no eval_results.json")


@pytest.mark.parametrize("kernel_mode", ["fresh", "warm"], indirect=True)
def test_sigint_leaves_interrupted_and_prints_the_resume_command(tmp_path, kernel_mode):
    cwd = tmp_path / "work"; cwd.mkdir()
    proc = _cli(["run", "train_bridge", *LONG, "--name", "ctrlc"], cwd)
    base = cwd / "papermill_runs" / "train_bridge"
    _wait_for(lambda: base.is_dir() and any(base.iterdir()) and latest_checkpoint(_only_run(cwd)) is not None, proc)
    os.killpg(proc.pid, signal.SIGINT)   # what Ctrl-C in a terminal does: the whole foreground group
    code, out = _finish(proc, timeout=120)
    run = _only_run(cwd)
    s = read_json(run / "summary.json")
    assert (s["status"], s["kernel"]) == ("interrupted", "telepathy-warm" if kernel_mode == "warm" else "python3"), (s, out)
    assert code == 130, out
    rel = os.path.relpath(run, cwd)
    assert f"telepathy run train_bridge --resume {rel}" in out, out
    assert "checkpoints/step-000100" in out, out
    code, out = _finish(_cli(["run", "train_bridge", "--resume", rel], cwd))
    assert code == 0 and read_json(run / "summary.json")["status"] == "success", out


def _kernels_of(pid: int) -> list[int]:
    "The ipykernel children of process `pid`, read from /proc."
    kids = [int(x) for t in Path(f"/proc/{pid}/task").glob("*") for x in (t / "children").read_text().split()]
    return [k for k in kids if b"ipykernel" in Path(f"/proc/{k}/cmdline").read_bytes()]


def _alive(pid: int) -> bool:
    try: return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError: return False


@pytest.mark.parametrize("kernel_mode", ["fresh", "warm"], indirect=True)
def test_sigterm_stops_the_kernel_records_interrupted_and_resumes(tmp_path, kernel_mode):
    """`kill PID`, `timeout`, a scheduler's time limit: SIGTERM to the launcher alone. The kernel must not train on, unseen.
    Warm: the kernel is a child of the server, not of the launcher, and must stop too."""
    cwd = tmp_path / "work"; cwd.mkdir()
    proc = _cli(["run", "train_bridge", *LONG, "--name", "term"], cwd)
    base = cwd / "papermill_runs" / "train_bridge"
    _wait_for(lambda: base.is_dir() and any(base.iterdir()) and latest_checkpoint(_only_run(cwd)) is not None, proc)
    kernels = _kernels_of(proc.pid)
    assert kernels, "no kernel found under the launcher"
    if kernel_mode == "warm":                          # the forked kernels: the warm server's children
        from telepathy_nb import warm
        server = warm.ping()["pid"]
        kernels += [int(x) for t in Path(f"/proc/{server}/task").glob("*") for x in (t / "children").read_text().split()]
        assert len(kernels) >= 2, kernels
    proc.send_signal(signal.SIGTERM)     # the launcher only: the kernel leads a session of its own
    code, out = _finish(proc, timeout=120)
    run = _only_run(cwd)
    s = read_json(run / "summary.json")
    assert (s["status"], s["error"]) == ("interrupted", "stopped by SIGTERM (kill, timeout, or a scheduler's time limit)"), (s, out)
    assert code == 143, out
    assert f"telepathy run train_bridge --resume {os.path.relpath(run, cwd)}" in out, out
    assert not any(_alive(k) for k in kernels), "the kernel outlived its launcher"
    steps = len(read_jsonl(run / "metrics.jsonl"))
    time.sleep(2)
    assert len(read_jsonl(run / "metrics.jsonl")) == steps, "training went on after the launcher stopped"
    code, out = _finish(_cli(["run", "train_bridge", "--resume", os.path.relpath(run, cwd)], cwd))
    assert code == 0 and read_json(run / "summary.json")["status"] == "success", out


def test_second_writer_gets_a_named_error(tmp_path):
    run = tmp_path / "train_bridge" / "20260101-000000_x"; run.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from telepathy_nb.rundir import run_lock\n"
                               "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)", str(run)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TelepathyError, match="is being written by another process"):
            with run_lock(run): pass
        (run / "params.yaml").write_text(yaml.safe_dump({"steps": 4}))
        before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
        with pytest.raises(TelepathyError, match="is being written by another process"):
            launch("train_bridge", resume=run, progress=False)
        assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before, "the second writer touched files"
    finally:
        holder.kill(); holder.wait()
    with run_lock(run): pass    # free again once the holder is gone, even killed


class _Exploit:
    "A pickle that would create a file when loaded."
    def __init__(self, path): self.path = path
    def __reduce__(self): return (os.system, (f"touch {self.path}",))


def test_crafted_pickle_in_a_checkpoint_is_refused(tmp_path):
    cfg = make_config("tiny", run_dir=str(tmp_path / "run"), steps=4, quick_eval_every=0)
    train(cfg, progress=False)
    ckpt = latest_checkpoint(tmp_path / "run")
    assert {p.name for p in ckpt.iterdir()} >= {"bridge.safetensors", "optimizer.safetensors", "optimizer.json"}
    assert not list(ckpt.glob("*.pt")), "checkpoints hold no pickles"
    for f in ("optimizer.safetensors", "optimizer.json"): (ckpt / f).unlink()
    marker = tmp_path / "pwned"
    (ckpt / "optimizer.pt").write_bytes(pickle.dumps({"state": _Exploit(marker)}))
    with pytest.raises(TelepathyError, match="refused to unpickle"):
        train(make_config("tiny", run_dir=str(tmp_path / "run"), steps=8, quick_eval_every=0, resume=True), progress=False)
    assert not marker.exists()
