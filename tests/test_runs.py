"""The launcher and the CLI for real: papermill kernels, run folders, statuses, resume, bad input."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
import pyarrow as pa, pyarrow.parquet as pq
import yaml
from telepathy_nb.runs import launch
from telepathy_nb.cli import main
from telepathy_nb.core import read_json, read_jsonl
from telepathy_nb.config import make_config
from telepathy_nb.train import train
from telepathy_nb.rundir import latest_checkpoint

SMOKE = {"steps": 6, "eval_size": 16, "quick_eval_every": 3, "log_every": 2}
RUN_FILES = {"params.yaml", "run.ipynb", "run.html", "config.json", "metrics.jsonl", "eval_results.json", "summary.json"}


def test_train_run_writes_every_file(tmp_path):
    run = launch("train_bridge", SMOKE, name="smoke", root=tmp_path, progress=False)
    assert run.parent == tmp_path / "train_bridge" and run.name.endswith("_smoke")
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    s = read_json(run / "summary.json")
    assert s["status"] == "success" and s["error"] is None and s["preset"] == "tiny"
    assert yaml.safe_load((run / "params.yaml").read_text())["steps"] == 6
    ev = read_json(run / "eval_results.json")
    assert ev["n"] == 16 and s["accuracy"] == ev["accuracy"] and len(ev["predictions"]) == 16
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert steps == [2, 4, 6]
    assert "Final status: success" in (run / "run.html").read_text()   # the page shows how the run ended, not "running"


def test_failed_notebook_is_recorded_and_others_untouched(tmp_path, monkeypatch):
    ok = launch("train_bridge", SMOKE, name="ok", root=tmp_path, progress=False)
    before = (ok / "summary.json").read_bytes()
    # valid parameters, but the notebook raises at run time (a checkpoint that is not there)
    bad = launch("eval_bridge", {"checkpoint": str(tmp_path / "nowhere")}, name="bad", root=tmp_path, progress=False)
    s = read_json(bad / "summary.json")
    assert s["status"] == "failed" and "no checkpoint found" in s["error"]
    assert (bad / "run.ipynb").exists() and (bad / "run.html").exists()
    assert (ok / "summary.json").read_bytes() == before
    from telepathy_nb.dashboard import runs_table
    table = runs_table(tmp_path)
    assert set(table["status"]) == {"success", "failed"}


def test_divergence_is_recorded(tmp_path):
    run = launch("train_bridge", {**SMOKE, "diverge_grad_norm": 1e-9}, name="div", root=tmp_path, progress=False)
    s = read_json(run / "summary.json")
    assert s["status"] == "diverged" and "diverged at step 1" in s["error"]


@pytest.mark.parametrize("param,message", [
    ("steps=abc", "steps must be an integer, got 'abc'"),
    ("soft_tokens=0", "soft_tokens must be positive"),
    ("preset=huge", "unknown preset 'huge'"),
    ("task=imdb", "unknown task 'imdb'"),
    ("bridge=lstm", "unknown bridge 'lstm'"),
    ("source_model=nope", "unknown model 'nope'"),
    ("source_layer=9", "outside tiny-llama's blocks 1..4"),
    ("stepz=3", "has no parameter(s) ['stepz']"),
])
def test_bad_input_fails_before_any_folder(tmp_path, capsys, param, message):
    assert main(["run", "train_bridge", "-p", param, "--root", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks a machine without a GPU")
def test_gpu_only_options_fail_before_any_folder_without_a_gpu(tmp_path, capsys):
    assert main(["run", "train_bridge", "-p", "step_graphs=true", "-p", f"state_cache={tmp_path / 'sc'}", "--root", str(tmp_path)]) == 2
    assert "step_graphs=true needs a GPU; this run is on cpu" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def _write(root, task, split, table):
    (root / task).mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / task / f"{split}.parquet")


@pytest.mark.parametrize("case,message", [
    ("missing", "validation.parquet is missing"),
    ("corrupt", "is not a readable Parquet file"),
    ("empty", "row 1 has an empty text"),
    ("label", "row 0 has label 5, outside 0..1"),
])
def test_bad_data_fails_before_any_folder(tmp_path, monkeypatch, capsys, case, message):
    data = tmp_path / "data"
    good = pa.table({"text": ["a fine film", "dull"], "label": [1, 0]})
    _write(data, "sst2", "train", good)
    if case == "corrupt": (data / "sst2" / "validation.parquet").write_bytes(b"PAR1 broken")
    if case == "empty": _write(data, "sst2", "validation", pa.table({"text": ["ok", " "], "label": [1, 0]}))
    if case == "label": _write(data, "sst2", "validation", pa.table({"text": ["ok"], "label": [5]}))
    monkeypatch.setenv("TELEPATHY_DATA_DIR", str(data))
    root = tmp_path / "runs"; root.mkdir()
    assert main(["run", "train_bridge", "-p", "task=sst2", "--root", str(root)]) == 2
    assert message in capsys.readouterr().err
    assert not any(root.iterdir())


TRAIN_SCRIPT = """
import sys
from telepathy_nb.config import make_config
from telepathy_nb.train import train
train(make_config("tiny", run_dir=sys.argv[1], steps=int(sys.argv[2]), checkpoint_every=5, log_every=1,
                  quick_eval_every=5, resume=sys.argv[3] == "1"), progress=False)
"""


def _bridge_state(run_dir):
    from safetensors.torch import load_file
    return load_file(latest_checkpoint(run_dir) / "bridge.safetensors")


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, str(full), "40", "0"], check=True)
    proc = subprocess.Popen([sys.executable, "-c", TRAIN_SCRIPT, str(killed), "40", "0"])
    deadline = time.time() + 120
    while time.time() < deadline and not (killed / "checkpoints" / "step-000015" / "state.json").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = latest_checkpoint(killed)
    assert done is not None and int(done.name.split("-")[1]) < 40, "the kill came before the end"
    subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, str(killed), "40", "1"], check=True)
    a, b = _bridge_state(full), _bridge_state(killed)
    assert a.keys() == b.keys() and all((a[k] - b[k]).abs().max() < 1e-6 for k in a)
    steps = lambda d: [(r["step"], r["kind"]) for r in read_jsonl(d / "metrics.jsonl")]
    assert steps(killed) == steps(full)  # no duplicated or missing steps


def test_kill_during_checkpoint_write_keeps_previous(tmp_path, monkeypatch):
    import telepathy_nb.train as T
    cfg = make_config("tiny", run_dir=str(tmp_path), steps=5, checkpoint_every=5, quick_eval_every=0)
    res = train(cfg, progress=False)
    good = latest_checkpoint(tmp_path)
    def dying_save(tensors, path):  # a process killed half-way through writing the weights
        Path(path).write_bytes(b"\0" * 10); raise KeyboardInterrupt
    monkeypatch.setattr(T, "save_file", dying_save)
    with pytest.raises(KeyboardInterrupt):
        T.save_checkpoint(tmp_path, 10, res.pipe.bridge, __import__("torch").optim.AdamW(res.pipe.bridge.parameters()), cfg)
    assert latest_checkpoint(tmp_path) == good
    monkeypatch.undo()
    T.load_bridge_weights(good, res.pipe.bridge)  # still intact


def test_cli_resume_continues_the_same_folder(tmp_path):
    run = launch("train_bridge", {**SMOKE, "checkpoint_every": 3}, name="r", root=tmp_path, progress=False)
    params = yaml.safe_load((run / "params.yaml").read_text()); params["steps"] = 9
    (run / "params.yaml").write_text(yaml.safe_dump(params))
    assert main(["run", "train_bridge", "--resume", str(run)]) == 0
    assert (run / "run.prev.ipynb").exists()
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert steps == [2, 4, 6, 8, 9]


def test_list_prints_a_table_and_json(tmp_path, capsys):
    run = launch("train_bridge", SMOKE, name="listed", root=tmp_path, progress=False, render=False)
    assert main(["list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["status", "run", "task", "K", "steps", "last_step", "accuracy", "started"]
    assert out[2].startswith("success") and run.name in out[2] and "\\" not in "\n".join(out)
    assert main(["list", "--root", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in rows] == [run.name] and rows[0]["accuracy"] == read_json(run / "eval_results.json")["accuracy"]


def test_eval_bridge_accepts_an_exported_artefact(tmp_path):
    from telepathy_nb.artefact import export_bridge
    run = launch("train_bridge", SMOKE, name="src", root=tmp_path, progress=False, render=False)
    art = export_bridge(run, tmp_path / "art")
    ev = launch("eval_bridge", {"checkpoint": str(art), "eval_size": 16, "generation_eval": False, "zero_shot_baseline": False},
                name="fromart", root=tmp_path, progress=False, render=False)
    s = read_json(ev / "summary.json")
    assert s["status"] == "success", s
    assert read_json(ev / "eval_results.json")["accuracy"] == read_json(run / "eval_results.json")["accuracy"]


def test_train_template_declares_every_config_field():
    "The train_bridge parameter cell and RunConfig name the same fields: a field added to one is added to the other."
    from telepathy_nb.runs import template_parameters
    from telepathy_nb.config import RunConfig
    declared, fields = set(template_parameters("train_bridge")), set(RunConfig.__dataclass_fields__)
    assert declared == fields, {"only in the template": sorted(declared - fields), "only in RunConfig": sorted(fields - declared)}


@pytest.mark.parametrize("kernel_mode", ["fresh", "warm"], indirect=True)
def test_a_killed_kernel_is_recorded_as_killed_and_resumes(tmp_path, kernel_mode):
    """The kernel alone dies (SIGKILL: the OOM killer, say): the launcher records `killed`, not `failed`, and the run resumes.
    Warm: what the launcher sees as the kernel is the client, and the kernel forked for it must die with it."""
    code = ("import sys; from telepathy_nb.runs import launch\n"
            "launch('train_bridge', {'steps': 60, 'checkpoint_every': 5, 'log_every': 5, 'quick_eval_every': 0, 'eval_size': 8},"
            " name='k', root=sys.argv[1], progress=False, render=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)])
    deadline, run = time.time() + 300, None
    while time.time() < deadline and run is None:
        time.sleep(0.05)
        found = [d for d in (tmp_path / "train_bridge").glob("*")] if (tmp_path / "train_bridge").exists() else []
        if found and latest_checkpoint(found[0]) is not None: run = found[0]
    kernels = [int(p) for t in Path(f"/proc/{proc.pid}/task").glob("*") for p in (t / "children").read_text().split()
               if b"ipykernel" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert run is not None and kernels, "no checkpoint or no kernel to kill"
    for pid in kernels: os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=120)
    s = read_json(run / "summary.json")
    assert s["status"] == "killed" and "kernel died" in s["error"], s
    assert s["kernel"] == ("telepathy-warm" if kernel_mode == "warm" else "python3"), s
    assert main(["run", "train_bridge", "--resume", str(run)]) == 0
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert steps == list(range(5, 61, 5)), steps


def test_cli_run_shows_progress_and_a_page_that_leads_with_the_result(tmp_path, capfd, monkeypatch):
    "`telepathy run` as a user types it: phase lines and step progress in the terminal (plain lines: no terminal here), "
    "then a run.html whose first screen holds the status, accuracy with its interval, the curves and per-class accuracy."
    from pages import need_chromium, page_layout
    monkeypatch.setenv("TELEPATHY_PROGRESS_INTERVAL", "0")          # a line per update, so a 6-step run shows its steps
    assert main(["run", "train_bridge", *(f"-p{k}={v}" for k, v in SMOKE.items()), "--name", "shown", "--root", str(tmp_path)]) == 0
    err = capfd.readouterr().err
    phases = [l for l in err.splitlines() if l.startswith("» ")]
    assert phases[:3] == ["» starting the kernel", "» loading models", "» training"] and phases[-1] == "» rendering run.html", phases
    assert "» evaluating" in phases, phases
    steps = [l for l in err.splitlines() if l.startswith("training ")]
    assert steps and steps[-1].startswith("training 6/6 steps (100%) | loss ") and "samples/s" in steps[-1], steps
    assert any(l.startswith("evaluating 16/16 rows (100%)") for l in err.splitlines()), err
    assert "\r" not in err and "Executing:" not in err                # plain lines, not papermill's cell counter
    assert "without encryption" not in err                             # the kernel talks over IPC sockets, not TCP
    need_chromium()
    page = page_layout(next((tmp_path / "train_bridge").iterdir()) / "run.html")
    screen = 1000
    assert page["status"] < page["table"] < page["trajectory"] < page["per_class"] < screen, page
    assert page["appendix"] > page["per_class"], page                 # parameters and config come after the result
    first = page["text"][:page["text"].index("Appendix: parameters")]
    assert "Final status: success" in first and "95% CI" in first and "running" not in page["text"].lower()


def test_cli_user_mistakes_end_in_a_named_error_not_a_traceback(tmp_path, capsys):
    "Missing files, folders of the wrong kind, a file where a folder belongs: exit 2 and a line naming the problem and the fix."
    (tmp_path / "file.txt").write_text("x\n"); (tmp_path / "empty").mkdir(); (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00")
    cases = [(["predict", str(tmp_path), "--file", str(tmp_path / "missing.txt")], "no such file"),
             (["predict", str(tmp_path), "--file", str(tmp_path / "empty")], "is a folder"),
             (["predict", str(tmp_path), "--file", str(tmp_path / "bin.txt")], "is not UTF-8 text"),
             (["predict", str(tmp_path / "empty"), "hello"], "is not a telepathy_nb artefact"),
             (["export", str(tmp_path / "empty")], "is not a run folder"),
             (["export", str(tmp_path / "nowhere")], "is not a run folder"),
             (["run", "train_bridge", "-p", "steps=2", "--root", str(tmp_path / "file.txt")], "cannot create a run folder"),
             (["results", "--root", str(tmp_path / "empty")], "index.ipynb not found"),
             (["sweep", "--resume", str(tmp_path / "empty")], "is not a sweep folder"),
             (["run", "train_bridge", "--resume", str(tmp_path / "file.txt")], "is not a run folder")]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "fix:" in err and "Traceback" not in err, (argv, err)
