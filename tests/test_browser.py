"""The report template, executed by papermill and rendered by nbconvert as the launcher does, opened offline in
headless Chromium: every chart draws its traces, plotly.js is embedded once, the page logs no errors."""
import json
import os
import re
from pathlib import Path

import pytest

from telepathy_nb import dashboard as db
from telepathy_nb.synthetic import make_synthetic_run
from pages import need_chromium, open_offline

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "nbs" / "runs" / "report.ipynb"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    "Execute the report on a successful and a failed synthetic run; render run.html like the launcher."
    import papermill as pm
    tmp = tmp_path_factory.mktemp("report")
    root = tmp / "papermill_runs" / "train_bridge"
    ok = make_synthetic_run(root / "20260101-000000_good", steps=80, seed=0)
    bad = make_synthetic_run(root / "20260101-010000_oom", steps=80, seed=1, status="failed")
    mp = pytest.MonkeyPatch()
    # the kernel must import telepathy_nb whether or not the package is pip-installed
    mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    try:
        pm.execute_notebook(str(TEMPLATE), str(tmp / "run.ipynb"), parameters=dict(run_dirs=f"{ok},{bad}"),
                            kernel_name="python3", cwd=str(tmp), progress_bar=False)
    finally:
        mp.undo()
    html = db.render_html(tmp / "run.ipynb", tmp / "run.html", summary={"status": "success", "template": "report", "name": "r"})
    return dict(tmp=tmp, ok=ok, bad=bad, ipynb=tmp / "run.ipynb", html=html)


def _outputs(ipynb: Path) -> list[dict]:
    nb = json.loads(ipynb.read_text())
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def test_template_parameters_cell():
    nb = json.loads(TEMPLATE.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert first["metadata"].get("tags") == ["parameters"]
    src = "".join(first["source"]).splitlines()
    names = [l.split("=")[0].strip() for l in src if l.strip()]
    assert names == ["run_dirs", "runs_root", "smoothing", "overlay_metric", "hardest_n", "write_summary"]
    assert all("#" in l and l.count("=") == 1 for l in src if l.strip())  # papermill cannot parse a 2nd '='


def test_report_outputs(report):
    outs = _outputs(report["ipynb"])
    n_figs = sum(PLOTLY_MIME in o.get("data", {}) for o in outs)
    assert n_figs == 4 + 2 + 2  # success run: 4, failed run: 2 (no eval), comparison: 2
    stdout = "".join("".join(o["text"]) for o in outs if o.get("name") == "stdout")
    assert f"report made {n_figs} figures" in stdout
    assert not [o for o in outs if o.get("output_type") == "error"]
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outs)
    for run in (report["ok"], report["bad"]):
        assert (run / "EXPERIMENT_SUMMARY.md").read_text() == db.experiment_summary(run)


def test_report_html_draws_offline(report):
    need_chromium()
    html_text = report["html"].read_text()
    assert len(re.findall(r"plotly\.js v\d+\.\d+\.\d+", html_text)) == 1, "plotly.js must be embedded exactly once"
    n_figs = sum(PLOTLY_MIME in o.get("data", {}) for o in _outputs(report["ipynb"]))
    seen = open_offline(report["html"], n_figs, screenshot=report["tmp"] / "report.png")
    plots, problems, external, big_scripts = seen["plots"], seen["problems"], seen["external"], seen["big_scripts"]
    assert len(plots) == n_figs, plots
    assert big_scripts == 1
    for plot in plots:
        kind = "heat" if "Confusion" in plot["title"] else "bars" if "Per-class" in plot["title"] else "lines"
        assert plot[kind] > 0, f"chart drew nothing: {plot}"
    assert sum(p["title"].startswith("Training trajectory") for p in plots) == 2
    assert all(p["lines"] >= 5 for p in plots if p["title"].startswith("Training trajectory"))  # lm, div, quick-eval
    assert [p["bars"] for p in plots if p["title"] == "Per-class accuracy by run"] == [2]  # 2 classes, 1 evaluated run
    assert (report["tmp"] / "report.png").stat().st_size > 10_000
    assert not problems, problems
    assert external == [], f"the page asked the network for {external}"
    assert "Final status: success" in html_text
