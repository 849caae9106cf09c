"""Where every second of a `telepathy run train_bridge` goes, from the command to the last byte written (issue 35).

    python experiments/checks/check_run_phases.py [--fresh-local-caches | --warm] OUT_JSON SETTING [REPEATS] [-- EXTRA -p ARGS]

SETTING: `tiny` (2 steps of the tiny pair), `demo` (the README's demo preset, 100 steps of the embedded pair),
`embedded` (200 steps of the embedded pair), `scale-random` (real-scale shapes, random weights, GPU). Each repeat is a fresh
`telepathy run` in a fresh run folder; the phases come from the run's own records: the launcher's marks in summary.json,
papermill's per-cell times in run.ipynb, the loop's marks in status.json, run.html's mtime, and this script's clock around
the process. Writes OUT_JSON (kind `run_phases`, which `telepathy results` renders) with every repeat and the median.

--warm (before SETTING): start a warm kernel server (`telepathy warm start`) before the first repeat, so every run's
kernel is forked from it; the server's own start is recorded apart (`warm_server`), not in any run's phases.

--fresh-local-caches (before SETTING): every repeat gets empty inductor and Triton caches, as on another machine, while all repeats share
one fresh TELEPATHY_CACHE: repeat 0 starts cold and writes the compile cache (`compile_cache=true`), and the later
repeats start with only that file carried over.
"""
import json, os, statistics, subprocess, sys, tempfile, time
from datetime import datetime
from pathlib import Path
from telepathy_nb.report import provenance

SETTINGS = {
    "tiny": ["-p", "preset=tiny", "-p", "steps=2", "-p", "quick_eval_every=0", "-p", "checkpoint_every=0"],
    "demo": ["-p", "preset=demo"],
    "embedded": ["-p", "preset=embedded", "-p", "steps=200", "-p", "quick_eval_every=0", "-p", "checkpoint_every=0"],
    "scale-random": ["-p", "preset=scale-random", "-p", "steps=20", "-p", "quick_eval_every=0", "-p", "checkpoint_every=0"],
}
# the `telepathy` console script's own code, so the measurement runs where the package is only on PYTHONPATH (a GPU machine)
TELEPATHY = [sys.executable, "-c", "from telepathy_nb.cli import console; console()"]
PHASES = ("command_to_launcher", "import_the_launcher", "validate_parameters", "start_kernel",
          "kernel_imports_and_config", "training_cell_imports", "load_models", "state_cache", "first_step", "other_steps", "training_the_rest", "evaluation", "run_page_figures",
          "notebook_written_kernel_stopped", "render_run_html", "exit")


def _stamp(iso: str) -> float: return datetime.fromisoformat(iso).timestamp()


def _cells(nb: dict) -> list[dict]:
    "papermill's start/end of each executed code cell, with its source's first line."
    out = []
    for c in nb["cells"]:
        pm = c.get("metadata", {}).get("papermill", {})
        if c["cell_type"] == "code" and pm.get("start_time") and pm.get("end_time"):
            out.append({"start": _stamp(pm["start_time"]), "end": _stamp(pm["end_time"]), "source": "".join(c["source"])})
    return out


def page_time(run_dir: Path, t_exit: float) -> float:
    "When run.html was written (the exit, when it was not)."
    page = run_dir / "run.html"
    return page.stat().st_mtime if page.exists() else t_exit


def phases(run_dir: Path, t0: float, t_exit: float) -> dict:
    "Seconds per phase of one finished run; they add up to the command's wall time."
    summary = json.loads((run_dir / "summary.json").read_text())
    status = json.loads((run_dir / "status.json").read_text())
    nb = json.loads((run_dir / "run.ipynb").read_text())
    marks, cells = summary["launch_marks"], _cells(nb)
    code = [c for c in cells if not c["source"].startswith(("# Parameters", "# model:"))]
    train = next(c for c in code if "launch_training(" in c["source"])
    ev = next(c for c in code if "evaluate_run(" in c["source"])
    ps, st_marks = status.get("phase_seconds", {}), status["marks"]
    first = status.get("first_step_seconds") or 0.0
    steps = (st_marks["last_step"] - st_marks["first_step"]) if "last_step" in st_marks else 0.0
    models, cache = ps.get("models", 0.0), ps.get("state_cache", 0.0)
    # the training cell's first line imports the loop (torch, transformers, accelerate, datasets); `launch` ends it
    imports = st_marks["launch"] - train["start"] if "launch" in st_marks else 0.0
    page_end = code[-1]["end"]
    p = {
        "command_to_launcher": marks["started"] - t0,
        "import_the_launcher": marks["launch"] - marks["started"],
        "validate_parameters": marks["execute"] - marks["launch"],
        "start_kernel": cells[0]["start"] - marks["execute"],
        "kernel_imports_and_config": train["start"] - cells[0]["start"],
        "training_cell_imports": imports,
        "load_models": models,
        "state_cache": cache,
        "first_step": first,
        "other_steps": steps,
        "training_the_rest": (train["end"] - train["start"]) - imports - models - cache - first - steps,
        "evaluation": ev["end"] - ev["start"],
        "run_page_figures": page_end - ev["end"],
        "notebook_written_kernel_stopped": marks["executed"] - page_end,
        # no run.html: rendering failed (the launcher says why); its time runs to the exit
        "render_run_html": page_time(run_dir, t_exit) - marks["executed"],
        "exit": t_exit - page_time(run_dir, t_exit),
    }
    return {k: round(v, 2) for k, v in p.items()}


FRESH = "--fresh-local-caches" in sys.argv
WARM = "--warm" in sys.argv
FLAGS = ("--fresh-local-caches", "--warm")


def local_caches(root: Path, i: int) -> dict:
    "With --fresh-local-caches: this repeat's own empty inductor/Triton caches, and the check's one TELEPATHY_CACHE."
    if not FRESH: return {}
    return {"TORCHINDUCTOR_CACHE_DIR": str(root / f"inductor_{i}"), "TRITON_CACHE_DIR": str(root / f"triton_{i}"),
            "TELEPATHY_CACHE": str(root / "telepathy_cache")}


def one_run(setting: str, extra: list[str], root: Path, i: int) -> dict:
    env = {**os.environ, "TELEPATHY_RUNS_DIR": str(root), "TELEPATHY_PROGRESS_INTERVAL": "600", **local_caches(root, i)}
    cmd = [*TELEPATHY, "run", "train_bridge", *SETTINGS[setting], *extra, "--name", f"phases-{setting}-{i}"]
    t0 = time.time()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    t_exit = time.time()
    if done.returncode: raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    run_dir = next((root / "train_bridge").glob(f"*_phases-{setting}-{i}"))
    if not (run_dir / "run.html").exists(): print(f"no run.html:\n{done.stderr[-2000:]}", file=sys.stderr)
    carried = sorted(p.name for p in (root / "telepathy_cache" / "compile").glob("*.bin")) if FRESH else []
    return {"wall_s": round(t_exit - t0, 2), "phases": phases(run_dir, t0, t_exit), "compile_cache_after": carried,
            "page": (run_dir / "run.html").exists(), "kernel": json.loads((run_dir / "summary.json").read_text())["kernel"],
            "accuracy": json.loads((run_dir / "summary.json").read_text())["accuracy"]}


def cli_seconds(repeats: int) -> dict:
    "Median seconds of `telepathy --help` and of an argument error (an unknown option), each a fresh process."
    out = {}
    for name, args in (("help", ["--help"]), ("argument_error", ["run", "train_bridge", "--no-such-option"])):
        times = []
        for _ in range(repeats):
            t0 = time.time(); subprocess.run([*TELEPATHY, *args], capture_output=True); times.append(time.time() - t0)
        out[name] = round(statistics.median(times), 2)
    return out


def warm_server() -> dict:
    "Start the warm kernel server (none may be running: its start is measured); its ping and the seconds to answer."
    from telepathy_nb import warm
    if warm.ping(): raise SystemExit("a warm kernel server is running already: stop it first (telepathy warm stop)")
    t0 = time.time(); info = warm.start()
    return {"start_s": round(time.time() - t0, 2), "import_s": info["import_s"]}


def main(out: str, setting: str, repeats: int = 3, extra: list[str] | None = None) -> None:
    if FRESH and WARM: raise SystemExit("--fresh-local-caches and --warm measure different starts: pick one")
    root, runs = Path(tempfile.mkdtemp(prefix="telepathy-phases-")), []
    server = warm_server() if WARM else None
    try:
        for i in range(repeats):
            runs.append(one_run(setting, extra or [], root, i))
            print(f"{setting} run {i}: {runs[-1]['wall_s']:.1f} s", file=sys.stderr)
    finally:
        if WARM:
            from telepathy_nb import warm
            warm.stop()
    median = {k: round(statistics.median(r["phases"][k] for r in runs), 2) for k in PHASES}
    args = " ".join([setting, str(repeats), *(["--", *extra] if extra else [])])
    flag = "--fresh-local-caches " if FRESH else "--warm " if WARM else ""
    rec = {"kind": "run_phases", "setting": setting, "arguments": SETTINGS[setting] + (extra or []),
           "runs": {f"run_{i}": r for i, r in enumerate(runs)},
           "median": median, "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 2),
           "cli_s": cli_seconds(repeats), "fresh_local_caches": FRESH, **({"warm_server": server} if server else {}),
           **provenance(f"python experiments/checks/check_run_phases.py {flag}{out} {args}")}
    Path(out).write_text(json.dumps(rec, indent=1) + "\n")
    print(json.dumps(median, indent=1))


if __name__ == "__main__":
    argv = [a for a in sys.argv[1:] if a not in FLAGS]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    main(argv[0], argv[1], int(argv[2]) if len(argv) > 2 else 3, extra)
