"""Recompute a stored baselines result's comparisons (McNemar per seed, the seed-level difference, verdict, Holm's p) and
the intervals of its several-run accuracies with the current statistics, from the per-row predictions it keeps; nothing
is trained or scored again. The rows' labels come back from the split with the run's own settings and must reproduce
every stored confusion matrix (`baselines.rescore_comparisons`). The file records what was done under `rescored`.
Usage: python experiments/rescore_baselines.py RESULTS_JSON"""
import sys
from telepathy_nb.core import atomic_write_json, read_json, code_revision, device_description
from telepathy_nb.data import load_split
from telepathy_nb.baselines import rescore_comparisons
from telepathy_nb.stats import accuracy_interval, adjust_verdicts

path = sys.argv[1]
res = read_json(path)
b, cfg = res["baselines"], res["baselines"]["config"]
labels = [r["label"] for r in load_split(cfg["task"], "eval", n=cfg["eval_size"] or None, seed=cfg["seed"])]
before = {k: r["verdict"] for k, r in b["baselines"].items()}
rescore_comparisons(b, labels)
adjust_verdicts(b["baselines"])                     # Holm over this table's comparisons
for rec in [b["bridge"], *b["baselines"].values()]:
    if len(rec.get("runs", [])) > 1:                # several runs: a t interval over them, the row bootstrap beside it
        rows = rec.get("ci_rows", rec["ci"])
        rec.update(accuracy_interval(labels, [r["preds"] for r in rec["runs"]], n_resamples=b["settings"]["n_resamples"],
                                     boot_seed=b["eval_seed"]))
        assert rec["ci_rows"] == rows, "the row bootstrap does not reproduce the stored interval"
res["rescored"] = {"command": f"python experiments/rescore_baselines.py {path}", "commit": code_revision(),
                   "machine": device_description(),
                   "what": "recomputed from the stored predictions with stats.seed_difference as of that commit (a t over "
                           "seeds: the bridge seeds' spread plus the per-row variance against a one-run baseline, Welch's "
                           "t against the few-shot draws), better/worse only where Holm's p over the table < 0.05 "
                           "(stats.adjust_verdicts); a several-run accuracy's interval is a t over its runs "
                           "(stats.accuracy_interval, the row bootstrap kept as ci_rows); accuracies and predictions "
                           "unchanged"}
atomic_write_json(path, res)
for k, r in b["baselines"].items():
    d = r["difference"]
    print(f"{k:18s} {100 * d['diff']:+6.1f} pp  95% CI {100 * d['ci95'][0]:+6.1f} {100 * d['ci95'][1]:+6.1f}  "
          f"p {d['p']:.2g}  p (Holm) {d['p_holm']:.2g}  {d['method']:10s}  {r['verdict']}"
          + ("" if r["verdict"] == before[k] else f"   (was: {before[k]})"))
