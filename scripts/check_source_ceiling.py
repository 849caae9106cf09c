"""What can the source do with the task itself? Text-visible prompt tuning of the SOURCE (SmolLM2-135M reading the text
behind K learned tokens), matched to a learning-curve point exactly as the curve's target prompt tuning is
(`baselines.matched_prompt_tuning`: the bridge's K, batches and steps for N rows and the seed, lr chosen on 300 held-out
training rows), beside the same for the target on the same machine. If the source tuned on the text cannot reach the
target's prompt tuning, a bridge that reads the source's states is not expected to either. Scored on all validation rows.
Writes OUT/source_ceiling_<task>_<device>.json. Run from the repository root:
  TELEPATHY_DATA_DIR=../shared/data python scripts/check_source_ceiling.py [OUT] [N] [SEEDS] [TASK] [ROLES]
(ROLES: source,target by default)"""
import dataclasses, sys, time
from pathlib import Path
import numpy as np
from telepathy_nb.baselines import curve_steps, matched_prompt_tuning, seen_rows_and_batches
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, code_revision, device_description
from telepathy_nb.data import heldout_rows, load_split
from telepathy_nb.pipeline import build_pipeline

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/checks")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
seeds = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "0").split(",")]
task = sys.argv[4] if len(sys.argv) > 4 else "sst2"
roles = (sys.argv[5] if len(sys.argv) > 5 else "source,target").split(",")
cfg = make_config("embedded", task=task, holdout_rows=500, latent_init="orthogonal", slot_weight=0.5)   # the curves' setting
pipe = build_pipeline(cfg)                                               # the config's device: a GPU when there is one
eval_rows, heldout = list(load_split(task, "eval")), heldout_rows(task, cfg.holdout_rows)[:300]
labels = np.array([r["label"] for r in eval_rows])
path = out / f"source_ceiling_{task}_{pipe.source.device.type}.json"
res = {"command": "python scripts/check_source_ceiling.py " + " ".join(sys.argv[1:]), "commit": code_revision(), "machine": device_description(),
       "task": task, "n": n, "eval_rows": len(eval_rows), "lr_steps": 30, "runs": {}}
for seed in seeds:
    c = dataclasses.replace(cfg, train_size=n, seed=seed, num_processes=1)
    c = dataclasses.replace(c, steps=curve_steps(c, n))
    train_rows, batches = seen_rows_and_batches(c, pipe.collator)
    for role, lm in ((r, {"source": pipe.source, "target": pipe.target}[r]) for r in roles):
        t0 = time.time()
        preds, lr, lr_acc = matched_prompt_tuning(lm, c, train_rows, batches, heldout, eval_rows, lr_steps=30, batch_size=2 * c.batch_size)
        res["runs"][f"{role},seed={seed}"] = {"role": role, "model": lm.name, "seed": seed, "steps": c.steps, "rows_seen": len(train_rows),
                                              "lr": lr, "lr_heldout_accuracy": {f"{k:g}": v for k, v in lr_acc.items()},
                                              "accuracy": float((preds == labels).mean()), "seconds": round(time.time() - t0, 1)}
        atomic_write_json(path, res)
        print(f"{role} ({lm.name}) seed {seed}: accuracy {res['runs'][f'{role},seed={seed}']['accuracy']:.4f}, lr {lr:g}", flush=True)
