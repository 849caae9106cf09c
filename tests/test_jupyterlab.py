"""The live widgets in a real JupyterLab, driven through its UI by a real headless Chromium.

A module fixture starts `jupyter lab` (the venv's, on a free port, with the venv's `python3` kernel) in a temporary
root folder; every test writes a notebook there, opens it, runs it with Run > Run All Cells and then works the
widgets the way a person would:

1. the dashboard on finished runs: `show_run`, `LiveRunDashboard` and the `RunBrowser` widget draw their plotly
   charts; changing the browser's metric dropdown and its run selection redraws the comparison charts;
2. `LiveRunDashboard` on a run that is still being written: lines appended to metrics.jsonl reach the charts by
   polling alone, no cell re-run;
3. the walkthrough notebook's interactive cell (found by glob, never by number): changing the sentence and the
   attention head redraws the attention heatmap.
"""
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from configparser import ConfigParser
from pathlib import Path

import pytest

from telepathy_nb import dashboard as db
from telepathy_nb.synthetic import make_synthetic_run, synthetic_metrics

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
VENV_BIN = VENV / "bin"
# the interpreter running pytest when it is not the venv's (make test uses .venv/bin/python)
PYTHON = VENV_BIN / "python" if (VENV_BIN / "python").exists() else Path(sys.executable)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# cells flagged like this are skipped by the notebook tests unless forced (settings.ini, TELEPATHY_TEST_FLAGS)
_cfg = ConfigParser(delimiters=["="]); _cfg.read(ROOT / "settings.ini")
TST_FLAGS = _cfg["DEFAULT"].get("tst_flags", "slow cuda").split()
FORCE = os.environ.get("TELEPATHY_TEST_FLAGS", "").split()

SERVER_START_S = 90       # jupyter lab answers /api/status
PAGE_LOAD_MS = 90_000     # the notebook is open with its kernel idle
# every cell has an execution count (the walkthrough imports torch; forced slow cells load the embedded pair)
RUN_ALL_MS = 600_000 if "slow" in FORCE else 150_000
UPDATE_MS = 30_000        # a widget change or a polled line reaches the chart

# ------------------------------------------------------------------------------------------------ the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 4000) -> str:
    try: return path.read_text(errors="replace")[-n:]
    except OSError: return "(no log)"


def _write_lab_settings(settings: Path):
    "User settings of a fresh JupyterLab: no news or update toasts, every cell rendered (no windowing)."
    for plugin, values in {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
                           "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}.items():
        f = settings / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))


class Lab:
    "A running JupyterLab: its URL, token, root folder and log."
    def __init__(self, url: str, token: str, root: Path, log: Path, proc: subprocess.Popen):
        self.url, self.token, self.root, self.log, self.proc = url, token, root, log, proc

    def api(self, path: str, method: str = "GET", timeout: float = 10):
        req = urllib.request.Request(f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        "Shut down every kernel (the next test gets the CPU to itself)."
        try:
            for k in self.api("/api/kernels"): self.api(f"/api/kernels/{k['id']}", method="DELETE", timeout=30)
        except Exception as e:  # the server is the thing under suspicion: say so, do not hide the test's own failure
            print(f"could not shut the kernels down: {e!r}", file=sys.stderr)

    def page_url(self, notebook: str, workspace: str) -> str:
        "The notebook in a fresh workspace (nothing restored from an earlier test)."
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"


def _stop_server(proc: subprocess.Popen, lab: Lab | None):
    "Graceful shutdown, then SIGTERM and SIGKILL to the server's process group and to each kernel it started."
    import psutil   # an ipykernel dependency
    try: kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error: kids = []
    if lab is not None and proc.poll() is None:
        try: lab.api("/api/shutdown", method="POST", timeout=5)
        except Exception: pass
        try: proc.wait(timeout=15)
        except subprocess.TimeoutExpired: pass
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if proc.poll() is not None: break
        try: os.killpg(proc.pid, sig)
        except ProcessLookupError: break
        try: proc.wait(timeout=wait)
        except subprocess.TimeoutExpired: pass
    # kernels run in sessions of their own (jupyter_client's start_new_session): end those the server left behind
    for k in kids:
        try:
            if k.is_running():
                k.kill()
        except psutil.Error: pass
    psutil.wait_procs(kids, timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    "JupyterLab on a free port, in a temporary root folder, with the venv's python3 kernel; stopped at teardown."
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: apt-get install -y chromium")
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root, home = tmp / "root", tmp / "jupyter-home"
    root.mkdir(); home.mkdir()
    _write_lab_settings(home / "lab-settings")
    env = {k: v for k, v in os.environ.items() if k not in ("IN_TEST", "PAPERMILL_EXECUTION", "JUPYTER_PATH")}
    env.update(
        PATH=os.pathsep.join([str(VENV_BIN), env.get("PATH", os.defpath)]),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # the venv's share/jupyter first: its python3 kernelspec (ipykernel install --sys-prefix) and lab extensions
        JUPYTER_PATH=str(VENV / "share" / "jupyter"),
        JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"),
        TELEPATHY_RUNS_DIR=str(root / "papermill_runs"), PYTHONUNBUFFERED="1")
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / "jupyterlab.log"
    cmd = [str(PYTHON), "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.disable_check_xsrf=True", "--LabApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=",
           "--MappingKernelManager.cull_idle_timeout=0", "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0: cmd.append("--allow-root")   # containers run as root
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    server = None
    try:
        server = Lab(f"http://127.0.0.1:{port}", token, root, log, proc)
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode} before answering:\n{_tail(log)}")
            try:
                server.api("/api/status", timeout=2); break
            except Exception as e:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer on port {port} within {SERVER_START_S} s ({e!r}):\n{_tail(log)}")
                time.sleep(0.5)
        specs = server.api("/api/kernelspecs")
        argv0 = specs["kernelspecs"].get("python3", {}).get("spec", {}).get("argv", ["?"])[0]
        assert Path(argv0).parent.resolve() == VENV_BIN.resolve(), \
            f"the server's python3 kernelspec runs {argv0}, not the venv's python ({VENV_BIN}): {specs}"
        yield server
    finally:
        _stop_server(proc, server)


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try: yield b
        finally: b.close()


@pytest.fixture
def page(browser, lab, request):
    "A fresh browser page; page errors are collected in page.problems; kernels are shut down afterwards."
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    pg = context.new_page()
    pg.set_default_timeout(UPDATE_MS)
    pg.problems, pg.shot_dir, pg.test_name = [], lab.root.parent, request.node.name
    pg.on("pageerror", lambda e: pg.problems.append(f"pageerror: {e}"))
    # the console's warnings and errors (plotly's among them), reported when a wait fails; not a failure by themselves
    pg.console = []
    pg.on("console", lambda m: pg.console.append(f"{m.type}: {m.text[:300]}") if m.type in ("warning", "error") else None)
    try:
        yield pg
    finally:
        _screenshot(pg, "end")   # beside the root folder: what the page looked like last
        context.close()
        lab.shutdown_kernels()

# ------------------------------------------------------------------------------------------------ notebooks


def _write_notebook(path: Path, sources: list[str]) -> Path:
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources],
                                  metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    nbformat.write(nb, str(path))
    return path


KERNEL_CELL = ("import sys\nfrom telepathy_nb.dashboard import is_interactive\n"
               "print('KERNEL', sys.prefix, 'interactive', is_interactive())")

JS_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const cells = panel.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const outs = c.outputs.toJSON();
    out.push({count: c.executionCount,
              errors: outs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
              stdout: outs.filter(o => o.output_type === 'stream' && o.name === 'stdout').map(o => o.text).join('')});
  }
  return out;
}"""

# every plotly chart in the notebook (or under the element it is evaluated on): what plotly holds and what it drew
JS_PLOTS = """(root) => [...(root || document).querySelectorAll('.jp-Notebook .js-plotly-plot')].map(gd => ({
  title: (gd.querySelector('.gtitle') || {}).textContent || '',
  // what the figure asked for, beside what plotly drew: tells "no title in the layout" from "not drawn (yet)"
  layoutTitle: JSON.stringify((gd.layout || {}).title === undefined ? null : gd.layout.title),
  data: (gd.data || []).map(t => ({name: t.name || '', type: t.type || 'scatter', n: t.x ? t.x.length : 0,
                                   xlast: t.x && t.x.length ? Number(t.x[t.x.length - 1]) : null})),
  scatter: gd.querySelectorAll('.scatterlayer .trace').length,
  paths: [...gd.querySelectorAll('.scatterlayer .trace path.js-line')].map(p => p.getAttribute('d') || ''),
  bars: gd.querySelectorAll('.barlayer .point').length,
  barTraces: gd.querySelectorAll('.barlayer .trace').length,
  heat: gd.querySelectorAll('.hm image, .heatmaplayer image').length,
  xticks: [...gd.querySelectorAll('.xaxislayer-above .xtick text')].map(t => t.textContent),
  width: Math.round(gd.getBoundingClientRect().width),
  svg: Math.round(gd.querySelector('.main-svg') ? gd.querySelector('.main-svg').getBoundingClientRect().width : 0),
}))"""


def _cells(page) -> list[dict]:
    return page.evaluate(JS_CELLS) or []


def _plots(page) -> list[dict]:
    return page.evaluate(JS_PLOTS)


def _plot(page, title: str | re.Pattern) -> dict:
    "The one chart whose title is (or matches) `title`."
    found = [p for p in _plots(page) if (title.search(p["title"]) if isinstance(title, re.Pattern) else p["title"] == title)]
    assert len(found) == 1, f"expected one chart titled {title!r}, found {[p['title'] for p in _plots(page)]}"
    return found[0]


def _screenshot(page, name: str) -> str:
    path = Path(page.shot_dir) / f"{page.test_name}-{name}.png"
    try: page.screenshot(path=str(path)); return str(path)
    except Exception as e: return f"(none: {e!r})"


def _wait_for(page, predicate, what: str, timeout_ms: int = UPDATE_MS, every_ms: int = 250):
    "Poll `predicate()` (Python, reading the page) until truthy; fail saying `what` did not happen."
    deadline, last = time.monotonic() + timeout_ms / 1000, None
    while True:
        try:
            last = predicate()
            if last: return last
        except AssertionError as e:
            last = e
        if time.monotonic() > deadline:
            shot = _screenshot(page, "timeout")
            pytest.fail(f"{what} (within {timeout_ms / 1000:.0f} s); last check: {last!r}; page errors: {page.problems}; "
                        f"console (last 10): {page.console[-10:]}; screenshot: {shot}")
        page.wait_for_timeout(every_ms)


def _open(page, lab: Lab, notebook: str):
    "Open `notebook` in a fresh workspace and wait until its python3 kernel is idle."
    page.goto(lab.page_url(notebook, re.sub(r"\W", "-", notebook)), wait_until="domcontentloaded")
    page.wait_for_function("""(name) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return !!(k && k.status === 'idle' && w.context.path.endsWith(name) && w.content.widgets.length); }""",
                           arg=notebook, timeout=PAGE_LOAD_MS)
    kernel = page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.name")
    assert kernel == "python3", f"{notebook} opened with kernel {kernel!r}, expected the venv's python3"


def _run_all(page):
    "Run > Run All Cells from JupyterLab's menu bar; wait until every code cell has run, and check no cell raised."
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.locator("#jp-menu-panel .lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    # (the click waits until the item is enabled: Lumino greys it out while no notebook is current)
    page.locator(".lm-Menu .lm-Menu-item:not(.lm-mod-disabled):visible", has=page.locator(
        ".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))).click()
    _wait_for(page, lambda: any(c["count"] for c in _cells(page)) or page.locator(".jp-InputPrompt", has_text="[*]").count(),
              "Run > Run All Cells started no cell")
    def finished():   # every code cell has run, or one raised (Run All stops there)
        c = _cells(page)
        return c if c and (all(x["count"] for x in c) or any(x["errors"] for x in c)) else None
    cells = _wait_for(page, finished, "Run All Cells did not execute every code cell", timeout_ms=RUN_ALL_MS, every_ms=500)
    errors = [(i, e) for i, c in enumerate(cells) for e in c["errors"]]
    assert not errors, f"cells raised: {errors}"
    prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())")
    assert prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"input prompts after Run All: {prompts}"
    return cells


def _check_kernel(cells: list[dict]):
    m = re.search(r"KERNEL (\S+) interactive (\w+)", cells[0]["stdout"])
    assert m, f"the first cell printed {cells[0]['stdout']!r}"
    assert Path(m[1]).resolve() == VENV.resolve(), f"the kernel runs in {m[1]}, not in the venv {VENV}"
    assert m[2] == "True", "telepathy_nb.dashboard.is_interactive() is False in JupyterLab: the widgets would not show"


def _control(page, label: str):
    "The ipywidgets Dropdown/Select/SelectMultiple described `label` (there must be one)."
    box = page.locator(".widget-dropdown, .widget-select, .widget-select-multiple",
                       has=page.locator("label.widget-label", has_text=re.compile(rf"^{re.escape(label)}$")))
    assert box.count() == 1, f"expected one control labelled {label!r}, found {box.count()}"
    return box


def _select(page, label: str, values: list[str] | str):
    "Choose `values` (option texts) in the ipywidgets Dropdown/SelectMultiple described `label`, as a person would."
    _control(page, label).locator("select").select_option(label=values)


def _select_values(page, label: str) -> list[str]:
    "The chosen option texts of the Dropdown/SelectMultiple described `label`."
    return _control(page, label).locator("select").evaluate("s => [...s.selectedOptions].map(o => o.textContent)")


def _set_int_slider(page, label: str, value: int):
    "Type `value` into the readout of the ipywidgets IntSlider described `label` (as a person can) and press Enter."
    box = page.locator(".widget-slider", has=page.locator("label.widget-label", has_text=re.compile(rf"^{re.escape(label)}$")))
    assert box.count() == 1, f"expected one slider labelled {label!r}, found {box.count()}"
    readout = box.locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def _no_page_errors(page):
    bad = [p for p in page.problems if "ResizeObserver loop" not in p]
    assert not bad, f"the page raised: {bad}"

# ------------------------------------------------------------------------------------------------ 1. finished runs


def test_dashboard_on_finished_runs(lab, page):
    runs = lab.root / "papermill_runs" / "train_bridge"
    good = make_synthetic_run(runs / "20260101-000000_good", steps=80, seed=0)
    other = make_synthetic_run(runs / "20260101-010000_other", steps=80, seed=1)
    oom = make_synthetic_run(runs / "20260101-020000_oom", steps=80, seed=2, status="failed")
    _write_notebook(lab.root / "dashboard.ipynb", [
        KERNEL_CELL,
        f"from telepathy_nb.dashboard import LiveRunDashboard, RunBrowser, show_run\nfigs = show_run({str(good)!r})",
        f"live = LiveRunDashboard({str(good)!r})\nlive",
        f"browser = RunBrowser({str(runs.parent)!r})\n_ = browser.show()"])
    _open(page, lab, "dashboard.ipynb")
    _check_kernel(_run_all(page))

    # show_run: 4 charts; the live dashboard: 2; the run browser: 2
    expected = {f"Training trajectory: {good.name}": 2, f"Training health: {good.name}": 2,
                f"Per-class accuracy: {good.name}": 1, f"Confusion matrix: {good.name}": 1,
                "quick_eval_acc by run": 1, "Per-class accuracy by run": 1}
    def all_drawn():
        plots = _plots(page)
        titles = [p["title"] for p in plots]
        assert {t: titles.count(t) for t in expected} == expected, \
            f"chart titles: {titles}; their layouts' titles: {[p['layoutTitle'] for p in plots]}"
        for p in plots:
            kind = "heat" if p["title"].startswith("Confusion") else "bars" if "Per-class" in p["title"] else "paths"
            drawn = len(p[kind]) if kind == "paths" else p[kind]
            assert drawn > 0 and p["width"] > 100, f"chart drew nothing: {p['title']} ({kind}: {drawn}, width {p['width']})"
        return plots
    plots = _wait_for(page, all_drawn, "the dashboard's plotly charts did not all draw")
    trajectory = next(p for p in plots if p["title"] == f"Training trajectory: {good.name}")
    assert len(trajectory["paths"]) >= 5, trajectory  # lm raw + EMA, div raw + EMA, quick eval
    train_steps = sum(1 for line in (good / "metrics.jsonl").read_text().splitlines() if json.loads(line)["kind"] == "train")
    assert trajectory["data"][0]["n"] == train_steps == 80, trajectory["data"]
    # the widgets get room: plotly's FigureWidget keeps 700 px in JupyterLab unless the figure sets a width
    health = [p["svg"] for p in plots if p["title"] == f"Training health: {good.name}"]   # what plotly drew, not its box
    assert all(w >= 900 for w in health), f"the 4-panel health charts are cramped: {health} px wide"

    # the run browser: its table lists the three runs, the two successful ones are selected, the overlay shows
    # quick-eval accuracy
    table = page.locator(".jp-OutputArea-output table", has=page.locator("th", has_text=re.compile(r"^run_dir$")))
    assert table.count() == 1, f"expected one run-browser table, found {table.count()}"
    rows = table.locator("tbody tr").all_inner_texts()
    assert len(rows) == 3 and all(r.name in row and s in row for r, s, row in
                                  zip((good, other, oom), ("success", "success", "failed"), rows)), rows
    assert sorted(_select_values(page, "runs")) == [good.name, other.name]
    overlay = _plot(page, "quick_eval_acc by run")
    assert sorted(d["name"] for d in overlay["data"]) == [good.name, other.name], overlay["data"]
    assert overlay["scatter"] == 2 and len(overlay["paths"]) == 2, overlay
    classes = {r: len(json.loads((r / "eval_results.json").read_text())["per_class_accuracy"]) for r in (good, other)}
    per_class = _plot(page, "Per-class accuracy by run")
    assert sorted(d["name"] for d in per_class["data"]) == [good.name, other.name], per_class["data"]
    assert per_class["barTraces"] == 2 and per_class["bars"] == sum(classes.values()), (per_class, classes)

    # 1a. the metric dropdown redraws the overlay with the chosen metric
    before_paths = overlay["paths"]
    _select(page, "metric", "lm_loss")
    def lm_overlay():
        p = _plot(page, "lm_loss by run")
        assert len(p["paths"]) == 2 and all(p["paths"]) and p["paths"] != before_paths, p
        assert all(d["n"] == 80 for d in p["data"]), p["data"]
        return p
    _wait_for(page, lm_overlay, "choosing lm_loss in the run browser's metric dropdown did not redraw the overlay")
    assert not [p for p in _plots(page) if p["title"] == "quick_eval_acc by run"], "the old overlay is still shown"

    # 1b. the run selection: only the other run -> one curve, its bars only
    _select(page, "runs", [other.name])
    def one_run():
        o, pc = _plot(page, "lm_loss by run"), _plot(page, "Per-class accuracy by run")
        assert [d["name"] for d in o["data"]] == [other.name] and len(o["paths"]) == 1, o
        assert [d["name"] for d in pc["data"]] == [other.name], pc["data"]
        assert pc["barTraces"] == 1 and pc["bars"] == classes[other], (pc, classes)
        return o
    _wait_for(page, one_run, "selecting one run in the run browser did not redraw the comparison charts")
    _no_page_errors(page)

# ------------------------------------------------------------------------------------------------ 2. a running run


def _append(run: Path, records: list[dict]):
    "Append `records` to the run's metrics.jsonl the way the trainer does: whole lines, flushed."
    with open(run / "metrics.jsonl", "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records)); f.flush(); os.fsync(f.fileno())


def test_live_dashboard_follows_a_run_being_written(lab, page):
    run = make_synthetic_run(lab.root / "papermill_runs" / "train_bridge" / "20260102-000000_live", steps=80, seed=3,
                                status="running")
    cfg = json.loads((run / "config.json").read_text())
    full = synthetic_metrics(cfg)                       # the whole run, of which the first half is on disk
    written = len((run / "metrics.jsonl").read_text().splitlines())
    assert [json.dumps(r) for r in full[:written]] == (run / "metrics.jsonl").read_text().splitlines()
    _write_notebook(lab.root / "live.ipynb", [
        KERNEL_CELL,
        f"from telepathy_nb.dashboard import LiveRunDashboard\n"
        f"dash = LiveRunDashboard({str(run)!r}, interval=0.5).start()\ndash"])
    _open(page, lab, "live.ipynb")
    cells = _run_all(page)
    _check_kernel(cells)
    counts = [c["count"] for c in cells]
    title = f"Training trajectory: {run.name}"

    def trajectory(n_train: int, last_step: int):
        def check():
            p = _plot(page, title)
            lm = p["data"][0]
            assert lm["name"] == "lm_loss (raw)" and lm["n"] == n_train and lm["xlast"] == last_step, p["data"][:3]
            assert len(p["paths"]) >= 5 and all(p["paths"]), p["paths"]
            status = page.locator(".widget-html", has_text=run.name).inner_text()
            assert f"step {last_step}," in status, status
            return p
        return check

    first = _wait_for(page, trajectory(40, 40), "the live dashboard did not draw the first half of the run")
    health = _plot(page, f"Training health: {run.name}")
    assert health["data"][0]["n"] == 40 and len(health["paths"]) >= 10, health

    for upto in (60, 80):   # two more chunks, as a trainer writes them
        done = max(r["step"] for r in full[:written])
        chunk = [r for r in full[written:] if r["step"] <= upto]
        _append(run, chunk); written += len(chunk)
        assert done < upto
        grown = _wait_for(page, trajectory(upto, upto), f"the live dashboard did not follow metrics.jsonl to step {upto} "
                          "without a cell re-run (LiveRunDashboard polls every 0.5 s)")
        assert len(grown["paths"][0]) > len(first["paths"][0]), "the LM-loss line did not get longer"
        first = grown
    qe = next(d for d in grown["data"] if d["name"] == "quick_eval_acc")
    assert qe["n"] == sum(r["kind"] == "quick_eval" for r in full) and qe["xlast"] == 80, qe
    assert _plot(page, f"Training health: {run.name}")["data"][0]["n"] == 80
    assert [c["count"] for c in _cells(page)] == counts, "cells were re-run: the update must come from polling alone"
    _no_page_errors(page)

# ------------------------------------------------------------------------------------------------ 3. the walkthrough


def _walkthrough_copy(dest: Path) -> Path:
    "The walkthrough notebook without its nbdev export cell and, unless forced, its slow/cuda cells."
    src = sorted((ROOT / "nbs").glob("*walkthrough*.ipynb"))
    assert src, "no walkthrough notebook (nbs/*walkthrough*.ipynb)"
    nb = json.loads(src[0].read_text())
    skip = [f for f in TST_FLAGS if f not in FORCE]
    def keep(cell):
        lines = "".join(cell["source"]).splitlines()
        flags = {w for l in lines if l.startswith("#|") for w in l[2:].split()}
        return not (flags & set(skip)) and not any("nbdev_export" in l for l in lines)
    nb["cells"] = [c for c in nb["cells"] if c["cell_type"] != "code" or keep(c)]
    for c in nb["cells"]:
        if c["cell_type"] == "code": c["outputs"], c["execution_count"] = [], None
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[0]["source"] = KERNEL_CELL + "\n" + "".join(code[0]["source"])
    nb["metadata"]["kernelspec"] = KERNELSPEC
    dest.write_text(json.dumps(nb, indent=1))
    return src[0]


def test_walkthrough_interactive_cell(lab, page):
    src = _walkthrough_copy(lab.root / "walkthrough.ipynb")
    _open(page, lab, "walkthrough.ipynb")
    _check_kernel(_run_all(page))

    attention = re.compile(r"^cross-attention, block (\d+), head (\d+)$")
    def heatmaps():
        found = [p for p in _plots(page) if attention.match(p["title"])]
        assert found and all(p["heat"] > 0 and p["width"] > 100 for p in found), found
        return found
    # the interactive cell: sentence dropdown, block and head sliders, and an Output widget with the heatmap
    explore = page.locator(".jp-CodeCell", has=page.locator("label.widget-label", has_text=re.compile(r"^sentence$")))
    assert explore.count() == 1, f"{src.name}: no interactive cell with a 'sentence' dropdown"
    def in_explore():
        ps = explore.evaluate(JS_PLOTS)
        assert len(ps) == 1 and ps[0]["heat"] > 0 and ps[0]["width"] > 100, ps
        return ps[0]
    _wait_for(page, heatmaps, "the walkthrough drew no attention heatmap")
    first = _wait_for(page, in_explore, "the interactive cell drew no heatmap")
    assert attention.match(first["title"]).groups() == ("0", "0"), first["title"]
    options = explore.locator("select").first.locator("option").all_inner_texts()
    assert len(options) >= 2, options

    # another sentence: other source tokens along the x axis
    _select(page, "sentence", options[1])
    def new_sentence():
        p = in_explore()
        assert p["xticks"] != first["xticks"], p["xticks"]
        return p
    second = _wait_for(page, new_sentence, "choosing another sentence did not redraw the attention heatmap")

    # another head: the title says so and the same tokens stay on the x axis
    _set_int_slider(page, "head", 1)
    def new_head():
        p = in_explore()
        assert attention.match(p["title"]).groups() == ("0", "1") and p["xticks"] == second["xticks"], p["title"]
        return p
    _wait_for(page, new_head, "moving the head slider to 1 did not redraw the attention heatmap")
    _no_page_errors(page)
