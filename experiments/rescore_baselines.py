"""Recompute a stored baselines result's comparisons (McNemar per seed, bootstrap difference, verdict) with the current
statistics, from the per-row predictions it keeps; nothing is trained or scored again. The rows' labels come back from
the split with the run's own settings and must reproduce every stored confusion matrix (`baselines.rescore_comparisons`).
The file records what was done under `rescored`. Usage: python experiments/rescore_baselines.py RESULTS_JSON"""
import sys
from telepathy_nb.core import atomic_write_json, read_json, code_revision, device_description
from telepathy_nb.data import load_split
from telepathy_nb.baselines import rescore_comparisons

path = sys.argv[1]
res = read_json(path)
b, cfg = res["baselines"], res["baselines"]["config"]
labels = [r["label"] for r in load_split(cfg["task"], "eval", n=cfg["eval_size"] or None, seed=cfg["seed"])]
before = {k: r["verdict"] for k, r in b["baselines"].items()}
rescore_comparisons(b, labels)
res["rescored"] = {"command": f"python experiments/rescore_baselines.py {path}", "commit": code_revision(), "machine": device_description(),
                   "what": "recomputed from the stored predictions with stats.paired_bootstrap_difference as of that commit "
                           "(resampling each side's seeds); accuracies, their intervals and the predictions unchanged"}
atomic_write_json(path, res)
for k, r in b["baselines"].items():
    d = r["difference"]
    print(f"{k:18s} {100 * d['diff']:+6.1f} pp  95% CI {100 * d['ci95'][0]:+6.1f} {100 * d['ci95'][1]:+6.1f}  {r['verdict']}"
          + ("" if r["verdict"] == before[k] else f"   (was: {before[k]})"))
