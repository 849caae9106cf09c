"""What can the source do with the task itself? Text-visible prompt tuning of the SOURCE (SmolLM2-135M reading the text
behind K learned tokens), matched to a learning-curve point exactly as the curve's target prompt tuning is
(`baselines.matched_prompt_tuning`: the bridge's K, batches and steps for N rows and the seed, lr chosen on 300 held-out
training rows: every lr of the grid trained in full with warmup, as `telepathy curves` does by default, or, with
LR_STEPS, after that many steps as the stored curves did), beside the same for the target on the same machine. If the source tuned on the text cannot reach the
target's prompt tuning, a bridge that reads the source's states is not expected to either. Scored on all validation rows.
Each run keeps its per-row predictions (`preds`, beside the result's `labels`) so that it pairs with the curve's bridge
row by row and seed by seed. One job per (seed, role); WORKERS > 1 runs them in that many spawned processes (each
loads the pair). Writes OUT/source_ceiling_<task>_<device>.json after every job. Run from the repository root:
  TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_source_ceiling.py [OUT] [N] [SEEDS] [TASK] [ROLES] [WORKERS] [LR_STEPS]
(ROLES: source,target by default; WORKERS: 1; LR_STEPS: none, i.e. full length)"""
import dataclasses, sys, time
from pathlib import Path

def curve_config(task: str, n: int, seed: int):
    "The curves' setting at N rows and this seed (`telepathy curves` with the embedded preset)."
    from telepathy_nb.baselines import curve_steps
    from telepathy_nb.config import make_config
    cfg = make_config("embedded", task=task, holdout_rows=500, latent_init="orthogonal", slot_weight=0.5)
    c = dataclasses.replace(cfg, train_size=n, seed=seed, num_processes=1)
    return dataclasses.replace(c, steps=curve_steps(c, n))

def ceiling_run(seed: int, role: str, task: str, n: int, lr_steps: int | None = None) -> dict:
    "Prompt tuning of one model of the pair (`role`: source or target) matched to the curve point (n, seed)."
    import numpy as np
    from telepathy_nb.baselines import matched_prompt_tuning, seen_rows_and_batches
    from telepathy_nb.data import heldout_rows, load_split
    from telepathy_nb.pipeline import build_pipeline
    c = curve_config(task, n, seed)
    pipe = build_pipeline(c)                                              # the config's device: a GPU when there is one
    eval_rows, heldout = list(load_split(task, "eval")), heldout_rows(task, c.holdout_rows)[:300]
    train_rows, batches = seen_rows_and_batches(c, pipe.collator)
    lm = {"source": pipe.source, "target": pipe.target}[role]
    t0 = time.time()
    preds, lr, lr_acc = matched_prompt_tuning(lm, c, train_rows, batches, heldout, eval_rows, lr_steps=lr_steps, batch_size=2 * c.batch_size)
    labels = np.array([r["label"] for r in eval_rows])
    return {"role": role, "model": lm.name, "seed": seed, "steps": c.steps, "rows_seen": len(train_rows), "eval_rows": len(eval_rows),
            "lr": lr, "lr_heldout_accuracy": {f"{k:g}": v for k, v in lr_acc.items()},
            "accuracy": float((preds == labels).mean()), "preds": np.asarray(preds).tolist(), "seconds": round(time.time() - t0, 1), "device": pipe.source.device.type}

def main(argv: list[str]) -> None:
    from telepathy_nb.core import atomic_write_json, code_revision, device_description
    from telepathy_nb.study import run_jobs
    out = Path(argv[0] if len(argv) > 0 else "results/checks")
    n = int(argv[1]) if len(argv) > 1 else 8000
    seeds = [int(s) for s in (argv[2] if len(argv) > 2 else "0").split(",")]
    task = argv[3] if len(argv) > 3 else "sst2"
    roles = (argv[4] if len(argv) > 4 else "source,target").split(",")
    workers = int(argv[5]) if len(argv) > 5 else 1
    lr_steps = int(argv[6]) if len(argv) > 6 and argv[6] != "none" else None
    bad = [r for r in roles if r not in ("source", "target")]
    if bad: raise SystemExit(f"unknown role(s) {bad}: ROLES is a comma list of source and target")
    import torch
    path = out / f"source_ceiling_{task}_{'cuda' if torch.cuda.is_available() else 'cpu'}.json"
    res = {"kind": "source_ceiling", "command": "python experiments/checks/check_source_ceiling.py " + " ".join(argv), "commit": code_revision(), "machine": device_description(),
           "task": task, "n": n, "lr_steps": lr_steps, "runs": {}}
    def done(r: dict) -> None:
        if "labels" not in res:
            from telepathy_nb.data import load_split
            res["labels"] = [row["label"] for row in load_split(task, "eval")]
        res["runs"][f"{r['role']},seed={r['seed']}"] = r
        atomic_write_json(path, res)
        print(f"{r['role']} ({r['model']}) seed {r['seed']}: accuracy {r['accuracy']:.4f}, lr {r['lr']:g}, {r['seconds']} s", flush=True)
    run_jobs(ceiling_run, [(s, r, task, n, lr_steps) for s in seeds for r in roles], done, workers)

if __name__ == "__main__":
    main(sys.argv[1:])
