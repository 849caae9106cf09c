"""Does the demo's training depend on the CPU's kernels rather than on our code? The embedded preset's first STEPS
steps (no quick evals, no checkpoints, lm_loss logged every LOG steps) in a fresh process per variant; a variant is a
checkout of this repository and the instruction set torch's CPU kernels may use (ATEN_CPU_CAPABILITY; `native` = what
torch picks on this CPU). Writes OUT/cpu_kernels_cpu.json: each variant's losses, and whether they equal the first
variant's to the last logged digit. Session 29 (issue 16) found the demo at 80.5 % on 2026-11-27 and 86.5 % on
2026-11-28 with unchanged training code; this check separates the two causes. Run from the repository root:
  TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_cpu_kernels.py OUT STEPS LOG NAME=TREE:CAPABILITY ...
e.g. `now=.:native old=/tmp/old:native scalar=.:default`, where /tmp/old is `git worktree add /tmp/old 6eb208d`."""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path


def child(steps: int, log: int) -> None:
    "Train in this process (PYTHONPATH and ATEN_CPU_CAPABILITY set by the parent); print the logged losses as JSON."
    import torch, telepathy_nb
    from telepathy_nb.config import make_config
    from telepathy_nb.train import train
    run_dir = tempfile.mkdtemp()
    cfg = make_config("embedded", steps=steps, log_every=log, quick_eval_every=0, checkpoint_every=0, run_dir=run_dir)
    res = train(cfg, progress=False)
    lines = [json.loads(l) for l in open(Path(run_dir) / "metrics.jsonl")]
    print(json.dumps({"package": str(Path(telepathy_nb.__file__).parent), "capability": torch.backends.cpu.get_cpu_capability(),
                      "status": res.status, "lm_loss": {r["step"]: r["lm_loss"] for r in lines if r["kind"] == "train"}}))


def variant(spec: str, steps: int, log: int) -> tuple[str, dict]:
    "Run one NAME=TREE:CAPABILITY variant in a fresh interpreter; its losses, commit and kernels."
    from telepathy_nb.core import git_revision
    name, rest = spec.split("=", 1)
    tree, cap = rest.rsplit(":", 1)
    tree = str(Path(tree).resolve())
    env = {**os.environ, "PYTHONPATH": tree, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.pop("ATEN_CPU_CAPABILITY", None)
    if cap != "native": env["ATEN_CPU_CAPABILITY"] = cap
    t0 = time.time()
    out = subprocess.run([sys.executable, __file__, "--child", str(steps), str(log)], env=env, cwd=tempfile.gettempdir(),
                         capture_output=True, text=True)
    if out.returncode: raise SystemExit(f"variant {name} failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    commit = git_revision(tree)
    print(f"{name}: {res['capability']} kernels, commit {commit}, {time.time() - t0:.0f} s, lm_loss {res['lm_loss']}", flush=True)
    return name, {"tree": tree, "commit": commit, "requested": cap, "seconds": round(time.time() - t0, 1), **res}


def main(argv: list[str]) -> None:
    out, steps, log, specs = Path(argv[0]), int(argv[1]), int(argv[2]), argv[3:]
    if not specs: raise SystemExit("name at least one variant NAME=TREE:CAPABILITY (e.g. now=.:native scalar=.:default)")
    from telepathy_nb.core import atomic_write_json, code_revision, device_description
    runs = dict(variant(s, steps, log) for s in specs)
    first = next(iter(runs.values()))["lm_loss"]
    for r in runs.values(): r["same_losses_as_first"] = r["lm_loss"] == first
    rec = {"check": "the embedded preset's first steps under different package trees and CPU kernel sets",
           "command": "python experiments/checks/check_cpu_kernels.py " + " ".join(argv), "commit": code_revision(),
           "machine": device_description(), "steps": steps, "log_every": log, "runs": runs}
    atomic_write_json(out / "cpu_kernels_cpu.json", rec)
    print({k: (v["capability"], v["same_losses_as_first"]) for k, v in runs.items()})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]: child(int(sys.argv[2]), int(sys.argv[3]))
    else: main(sys.argv[1:])
