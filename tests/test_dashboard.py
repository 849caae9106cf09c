"""Dashboards read run folders: the run browser table, live refresh from metrics.jsonl, EXPERIMENT_SUMMARY.md.

Every expectation is computed here from the run's raw files (json), not through the dashboard's own readers.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from telepathy_nb import dashboard as db
from telepathy_nb.synthetic import make_synthetic_run, synthetic_metrics

ROOT = Path(__file__).resolve().parents[1]


def _same(cell, value) -> bool:
    "A table cell equals `value`; pandas shows a missing value (None) as NaN."
    return (cell is None or cell != cell) if value is None else cell == value


def _raw_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "papermill_runs"
    ok = make_synthetic_run(root / "train_bridge" / "20260101-000000_good", steps=80, seed=0)
    bad = make_synthetic_run(root / "train_bridge" / "20260101-010000_oom", steps=80, seed=1, status="failed")
    nan = make_synthetic_run(root / "train_bridge" / "20260101-020000_nan", steps=80, seed=2, status="diverged")
    return root, ok, bad, nan


def test_runs_table_shows_success_failed_and_diverged(runs_root, monkeypatch):
    root, ok, bad, nan = runs_root
    monkeypatch.setenv("TELEPATHY_RUNS_DIR", str(root))
    table = db.runs_table()  # the root comes from TELEPATHY_RUNS_DIR
    assert table["run"].tolist() == [ok.name, bad.name, nan.name]
    rows = {r["run"]: r for r in table.to_dict("records")}
    for run in (ok, bad, nan):
        summary, cfg = json.loads((run / "summary.json").read_text()), json.loads((run / "config.json").read_text())
        row = rows[run.name]
        assert row["status"] == summary["status"]
        assert _same(row["error"], summary["error"])
        assert (row["task"], row["K"], row["layer"], row["steps"], row["preset"]) == (
            cfg["task"], cfg["soft_tokens"], cfg["source_layer"], cfg["steps"], cfg["preset"])
        assert row["pair"] == cfg["source_model"].split("/")[-1] + "→" + cfg["target_model"].split("/")[-1]
        assert _same(row["duration_s"], summary["duration_s"])
        assert row["last_step"] == _raw_metrics(run)[-1]["step"]
    assert rows[ok.name]["accuracy"] == json.loads((ok / "eval_results.json").read_text())["accuracy"]
    assert _same(rows[ok.name]["error"], None)
    assert rows[bad.name]["status"] == "failed" and "out of memory" in rows[bad.name]["error"]
    assert rows[nan.name]["status"] == "diverged" and "diverged" in rows[nan.name]["error"]
    for r in (bad, nan):
        assert _same(rows[r.name]["accuracy"], None)


def test_runs_table_reads_files_not_notebooks(runs_root):
    root, ok, *_ = runs_root
    summary = json.loads((ok / "summary.json").read_text())
    summary.update(status="interrupted", error="KeyboardInterrupt")
    (ok / "summary.json").write_text(json.dumps(summary))
    (ok / "run.ipynb").write_text("{}")  # a notebook is never read
    row = db.runs_table(root).set_index("run").loc[ok.name]
    assert (row["status"], row["error"]) == ("interrupted", "KeyboardInterrupt")
    (ok / "summary.json").unlink()
    assert db.runs_table(root).set_index("run").loc[ok.name, "status"] == "unknown"


def _append(run_dir: Path, records: list[dict], torn: str = ""):
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records) + torn)


@pytest.mark.parametrize("interactive", [False, True])
def test_live_refresh_grows_traces(tmp_path, interactive):
    if interactive and not db.widgets_available():
        pytest.skip("go.FigureWidget needs the anywidget package (pip install anywidget)")
    run = make_synthetic_run(tmp_path / "live", steps=100, seed=5, status="running")
    dash = db.LiveRunDashboard(run, interactive=interactive)
    kind = "FigureWidget" if interactive else "Figure"
    assert all(type(f).__name__ == kind for f in dash.figures)
    traces = lambda: {t.name: len(t.x) for f in dash.figures for t in f.data}
    before = traces()
    assert before["lm_loss"] == 50 and before["quick_eval_acc"] == 5 and before["z_var"] == 50
    cfg = json.loads((run / "config.json").read_text())
    full = synthetic_metrics(cfg)
    n0 = len(_raw_metrics(run))
    _append(run, full[n0:n0 + 22], torn='{"step": 71, "kind": "tra')  # a half-written last line
    assert dash.refresh() == 22
    after = traces()
    assert after["lm_loss"] == 70 and after["quick_eval_acc"] == 7 and after["grad_norm"] == 70
    assert dash.figures[0].data[1].x[-1] == 70
    assert dash.figures[1].data[0].y[-1] == pytest.approx(full[n0 + 20]["z_var"])  # step 70's record
    assert dash.refresh() == 0 and traces() == after


def test_live_polling_thread(tmp_path):
    run = make_synthetic_run(tmp_path / "live", steps=40, seed=6, status="running")
    dash = db.LiveRunDashboard(run, interval=0.05, interactive=False).start()
    try:
        full = synthetic_metrics(json.loads((run / "config.json").read_text()))
        _append(run, full[len(_raw_metrics(run)):])
        import time
        deadline = time.time() + 10
        while len(dash.figures[0].data[1].x) < 40 and time.time() < deadline: time.sleep(0.05)
    finally:
        dash.stop()
    assert len(dash.figures[0].data[1].x) == 40 and dash.error is None
    assert not dash._thread.is_alive()


def _first_jump(accs, steps, chance, margin=0.05):
    return next(((s, a) for s, a in zip(steps, accs) if a > chance + margin), None)


def test_experiment_summary_numbers_match_files(runs_root):
    _, ok, bad, _ = runs_root
    path = db.write_experiment_summary(ok)
    assert path == ok / "EXPERIMENT_SUMMARY.md" and path.exists()
    md = path.read_text()
    cfg = json.loads((ok / "config.json").read_text())
    ev = json.loads((ok / "eval_results.json").read_text())
    pct = lambda x: f"{100 * x:.1f}%"
    for section in ("## Objective", "## Architecture", "## Training", "## Task format", "## Results",
                    "## Quick-eval trajectory", "## Observations"):
        assert section in md
    for key in ("source_layer", "soft_tokens", "depth", "heads", "width", "steps", "batch_size", "lr",
                "diversity_weight", "seed"):
        assert re.search(rf"^\| {key} \| `{re.escape(format(cfg[key], 'g') if isinstance(cfg[key], float) else str(cfg[key]))}` \|$", md, re.M), key
    assert cfg["source_prompt"] in md and cfg["target_primer"] in md
    assert f"Accuracy **{pct(ev['accuracy'])}** on {ev['n']}" in md
    for name, acc in ev["per_class_accuracy"].items():
        assert re.search(rf"^\| {re.escape(name)} \| {re.escape(pct(acc))} \|", md, re.M), name
    qe = [r for r in _raw_metrics(ok) if r["kind"] == "quick_eval"]
    rows = re.findall(r"^\| (\d+) \| ([\d.]+%) \|$", md, re.M)
    assert rows == [(str(r["step"]), pct(r["quick_eval_acc"])) for r in qe]
    steps, accs = [r["step"] for r in qe], [r["quick_eval_acc"] for r in qe]
    jump = _first_jump(accs, steps, 1 / len(ev["label_names"]))
    assert f"was at step {jump[0]} ({pct(jump[1])})" in md
    dips = [(s0, s1, a0 - a1) for s0, s1, a0, a1 in zip(steps, steps[1:], accs, accs[1:]) if a1 < a0]
    assert len(dips) >= 1
    assert re.findall(r"Dip: quick-eval accuracy fell by ([\d.]+%) from step (\d+) to step (\d+)", md) == [
        (pct(d), str(a), str(b)) for a, b, d in dips]
    base = ev["baselines"]["target_zero_shot"]["accuracy"]
    assert f"{100 * (ev['accuracy'] - base):+.1f} points against `target_zero_shot`" in md
    md_bad = db.write_experiment_summary(bad).read_text()
    summary_bad = json.loads((bad / "summary.json").read_text())
    assert "status **failed**" in md_bad and summary_bad["error"] in md_bad
    assert f"Last logged training step: {_raw_metrics(bad)[-1]['step']} of {cfg['steps']}." in md_bad


def test_dashboard_imports_no_training_or_model_modules():
    "The dashboards read run folders: core, the run-folder format and the torch-free results writers only; not torch."
    code = ("import sys, telepathy_nb.dashboard; "
            "print(sorted(m for m in sys.modules if m.startswith('telepathy_nb')), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    mods, torch_loaded = out.rsplit(" ", 1)
    assert eval(mods) == ["telepathy_nb", "telepathy_nb.core", "telepathy_nb.dashboard", "telepathy_nb.report",
                          "telepathy_nb.rundir", "telepathy_nb.stats"]
    assert torch_loaded.strip() == "False"
