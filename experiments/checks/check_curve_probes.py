"""Is the learning curve's bridge better than the best linear read-out of its source? The curves' `source_probe` is a
last-token probe at the bridge's layer (15); a mean-pooled probe there does better (`check_source_layers.py`). For each
curve point (n, seed) of the curves files given (one task), this rebuilds the exact rows the curve's probe used (the
rows the bridge saw: `baselines.seen_rows_and_batches` of the point's config, as `baselines.curve_point` does) and its
held-out rows (300 of the 500 `holdout_rows`, minus any whose text is a training text; asserted disjoint by text), and
fits four CV probes (standardised logistic regression, C by 5-fold CV on the training rows, `baselines.fit_cv_probe`,
seeded with the point's seed as the curve's was) on SmolLM2-135M's states of the source prompt:
`probe_last_L15` / `probe_mean_L15` (last-token / mean-pooled state after block 15; `probe_last_L15` is the curve's
`source_probe` recomputed, its accuracy is printed beside the stored one) and `probe_last_best` / `probe_mean_best`
(the same at the layer of LAYERS whose probe scores best on the held-out rows; validation rows choose nothing). With
`--choose once` (the default) the best layer of each pool is chosen ONCE, at the smallest-N seed-0 point, and reused
for every point (recorded as `best_layer_chosen_at`); `--choose each` chooses at every point on its own held-out rows.
Each probe is scored on all validation rows. Then per n, over the seeds, the curve's stored `bridge` predictions minus
each probe's (`stats.paired_comparisons`): paired t over seeds (`stats.seed_difference`), `stats.equivalence_verdict` (TOST at ±2 pp) and Holm over
that n's comparisons (`stats.adjust_verdicts`), as `check_message.py` does. A "best" probe identical to its L15 probe
(best layer 15 at every point) is not compared twice.

Layer L is the output of block L (a forward hook, as `models.source_states` reads it; HF's `hidden_states[30]` of
SmolLM2 is after the final norm, so `check_source_layers.py`'s layer 30 differs). Source states are computed once per
distinct text (length-sorted batches, fp32 on the CPU; the curves ran on an H200 in bf16, so the recomputed L15
last-token probe differs from the stored one: 6-19 validation rows where both pick the same C, up to ~1.5 pp where
CV picks another C, as on TREC at N=500; the same rows' bf16 states on this CPU pick the curve's C there). OUT_JSON is
written after every point; the same command again skips the points it holds.

    TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_curve_probes.py OUT_JSON CURVES_JSON [CURVES_JSON ...]
        [--layers 5,10,15,20,25,30] [--choose once|each] [--batch-size 32]

More curves files of the same task may be added to a run later (the same OUT_JSON, the files given before plus the
new ones): only the new points are computed, with the layers already chosen.

CPU cost, measured on this 2-core CPU (fp32, one pass to block 30 gives all layers; length-sorted batches of 32):
source states at 28-33 texts/s (TREC 5,676 texts in 170 s; SST-2 N 500/2000 8,326 texts in 272 s; SST-2 N 8000
22,413 texts in 770 s). One CV probe (5 Cs x 5 folds + refit, 576 features): TREC (6 classes) ~20 s at N=500, ~40 s
at N=2000, ~70 s at N=4900; SST-2 under 1 s at N=500, ~25 s at N=2000, ~30 s at N=8000. Whole runs with
`--choose once` and the six layers: TREC N 500/2000/4900 x 3 seeds ~26 min (a 12-probe layer choice of ~3.5 min
included); SST-2 N 500/2000 x 3 seeds ~10 min; SST-2 N 8000 x 3 seeds added to that run ~19 min.
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_source_ceiling import curve_config                                    # noqa: E402  the curves' config
from telepathy_nb.baselines import disjoint_heldout, fit_cv_probe, seen_rows_and_batches  # noqa: E402
from telepathy_nb.bridge import masked_mean                                      # noqa: E402
from telepathy_nb.core import atomic_write_json, code_revision, device_description  # noqa: E402
from telepathy_nb.data import heldout_rows                                       # noqa: E402
from telepathy_nb.models import decoder_layers                                  # noqa: E402
from telepathy_nb.pipeline import build_pipeline                                 # noqa: E402
from telepathy_nb.stats import paired_comparisons                               # noqa: E402
from telepathy_nb.report import comparison_rows                                 # noqa: E402
from telepathy_nb.study import eval_rows                                         # noqa: E402

OVERRIDES = ("holdout_rows", "latent_init", "slot_weight")
"the curves' overrides besides the task, which `curve_config` sets"
PROBES = ("probe_last_L15", "probe_mean_L15", "probe_last_best", "probe_mean_best")
HELDOUT = 300
"held-out rows per point, as `study.curve_job` passes them"


class _Stop(Exception): pass


class SourceStates:
    "Last-token and mean-pooled states after each block of `layers`, once per distinct text (kept in memory)."
    def __init__(self, pipe, layers: list[int], batch_size: int = 32):
        self.pipe, self.layers, self.bs, self.index = pipe, layers, batch_size, {}
        self.last = self.mean = np.zeros((len(layers), 0, pipe.source.width), np.float32)

    @torch.no_grad()
    def add(self, rows: list[dict]) -> None:
        "Compute the states of the texts of `rows` not seen yet (batched by source length)."
        new = list({r["text"]: r for r in rows if r["text"] not in self.index}.values())
        if not new: return
        new = [new[i] for i in np.argsort(self.pipe.collator.source_lengths(new), kind="stable")]
        blocks, captured = decoder_layers(self.pipe.source.model), {}
        top = max(self.layers)
        def hook(layer):
            def f(module, args, out):
                captured[layer] = out[0] if isinstance(out, tuple) else out
                if layer == top: raise _Stop
            return f
        handles = [blocks[l - 1].register_forward_hook(hook(l)) for l in self.layers]
        last, mean = [], []
        try:
            for i in tqdm(range(0, len(new), self.bs), desc=f"source states ({len(new)} texts)", file=sys.stderr):
                b = self.pipe.collator(new[i:i + self.bs])
                m = b["source_mask"]
                try: self.pipe.source.model(input_ids=b["source_ids"], attention_mask=m, use_cache=False)
                except _Stop: pass
                idx = torch.arange(m.shape[0]), m.sum(1) - 1
                last.append(torch.stack([captured[l].float()[idx] for l in self.layers]))
                mean.append(torch.stack([masked_mean(captured[l].float(), m) for l in self.layers]))
        finally:
            for h in handles: h.remove()
        base = self.last.shape[1]
        self.index.update({r["text"]: base + j for j, r in enumerate(new)})
        self.last = np.concatenate([self.last, torch.cat(last, 1).numpy()], 1)
        self.mean = np.concatenate([self.mean, torch.cat(mean, 1).numpy()], 1)

    def get(self, pool: str, layer: int, rows: list[dict]) -> np.ndarray:
        "(len(rows), d) states of `pool` (last or mean) after block `layer`."
        arr = self.last if pool == "last" else self.mean
        return arr[self.layers.index(layer), [self.index[r["text"]] for r in rows]]


def probe(states: SourceStates, pool: str, layer: int, pt: dict, ev: list[dict]) -> dict:
    "A CV probe on the point's training rows: C, held-out and validation accuracy, validation predictions."
    t0 = time.time()
    clf, C = fit_cv_probe(states.get(pool, layer, pt["train"]), [r["label"] for r in pt["train"]], seed=pt["seed"])
    held_y, ev_y = np.array([r["label"] for r in pt["held"]]), np.array([r["label"] for r in ev])
    preds = clf.predict(states.get(pool, layer, ev))
    return {"pool": pool, "layer": layer, "C": C,
            "heldout_accuracy": float((clf.predict(states.get(pool, layer, pt["held"])) == held_y).mean()),
            "accuracy": float((preds == ev_y).mean()), "preds": preds.astype(int).tolist(),
            "seconds": round(time.time() - t0, 1)}


def choose_layers(states: SourceStates, layers: list[int], pt: dict, ev: list[dict]) -> tuple[dict, dict]:
    "Per pool, the layer whose probe is best on the point's held-out rows (a tie: the lower layer); every layer's probe."
    tried = {pool: {l: probe(states, pool, l, pt, ev) for l in layers} for pool in ("last", "mean")}
    best = {pool: max(layers, key=lambda l: (tried[pool][l]["heldout_accuracy"], -l)) for pool in tried}
    return best, tried


def comparisons(res: dict, labels) -> dict:
    "Per n: the curve's bridge minus each probe over the seeds present (paired), Holm-adjusted; verdicts at Holm p < 0.05."
    out = {}
    for n in sorted({p["n"] for p in res["points"].values()}):
        pts = sorted((p for p in res["points"].values() if p["n"] == n), key=lambda p: p["seed"])
        if len(pts) < 2: continue
        probes = [m for m in PROBES if not all(p["probes"][m].get("same_as") for p in pts)]   # not an L15 probe again
        recs = paired_comparisons(labels, [p["bridge_preds"] for p in pts],
                                  {m: [p["probes"][m]["preds"] for p in pts] for m in probes}, subject="bridge")
        out[str(n)] = {"seeds": [p["seed"] for p in pts], "vs": recs}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path); ap.add_argument("curves", nargs="+", type=Path)
    ap.add_argument("--layers", default="5,10,15,20,25,30")
    ap.add_argument("--choose", choices=("once", "each"), default="once")
    ap.add_argument("--batch-size", type=int, default=32)
    a = ap.parse_args(argv)
    command = "python experiments/checks/check_curve_probes.py " + " ".join(sys.argv[1:] if argv is None else argv)
    t_start = time.time()
    curves = [json.loads(p.read_text()) for p in a.curves]
    task = curves[0]["task"]
    for p, c in zip(a.curves, curves):
        if c.get("kind") != "curves" or c.get("preset") != "embedded" or c["task"] != task:
            sys.exit(f"{p}: not an embedded-preset curves file of task {task}")
        if {k: c["overrides"].get(k) for k in OVERRIDES} != {k: curves[0]["overrides"].get(k) for k in OVERRIDES} \
                or c["labels"] != curves[0]["labels"]:
            sys.exit(f"{p}: other settings or validation rows than {a.curves[0]}")
    ov = curves[0]["overrides"]
    if (ov.get("holdout_rows"), ov.get("latent_init"), ov.get("slot_weight")) != (500, "orthogonal", 0.5):
        sys.exit(f"{a.curves[0]}: overrides {ov} are not the ones `curve_config` rebuilds")
    source_layer = curve_config(task, 500, 0).source_layer
    layers = sorted({int(x) for x in a.layers.split(",")} | {source_layer})
    runs = {k: r for c in curves for k, r in c["runs"].items()}
    order = sorted(runs, key=lambda k: (int(runs[k]["n"]), int(runs[k]["seed"])))
    fresh = {"kind": "curve_probes", "task": task, "curves": [p.name for p in a.curves], "layers": layers,
             "source_layer": source_layer, "choose": a.choose}
    res = json.loads(a.out.read_text()) if a.out.exists() else fresh | {"points": {}}
    if bad := [k for k in fresh if k != "curves" and res.get(k) != fresh[k]]:
        sys.exit(f"{a.out} holds a run with other {bad}: continue it with its own settings, or write to another file")
    if missing := [f for f in res["curves"] if f not in fresh["curves"]]:     # more curves files may join a run
        sys.exit(f"{a.out} holds points of {missing}: pass those curves files too")
    res["curves"] = fresh["curves"]
    pending = [k for k in order if k not in res["points"]]
    seconds_before = res.get("seconds", 0.0)

    pipe = build_pipeline(curve_config(task, 500, 0), "cpu")
    ev = eval_rows(curve_config(task, 500, 0), "validation")
    labels = [r["label"] for r in ev]
    if labels != curves[0]["labels"]: sys.exit("the validation rows' labels differ from the curves' `labels`")
    res["labels"] = labels
    held_all = heldout_rows(task, 500)[:HELDOUT]

    def point_rows(key: str) -> dict:
        "The rows the curve's source_probe trained on and its held-out rows, checked against the stored run."
        run = runs[key]
        n, seed = int(run["n"]), int(run["seed"])
        c = curve_config(task, n, seed)
        if c.steps != run["steps"]: sys.exit(f"{key}: {c.steps} steps rebuilt, the curve ran {run['steps']}")
        train, _ = seen_rows_and_batches(c, pipe.collator)
        if len(train) != run["rows_seen"]: sys.exit(f"{key}: {len(train)} rows rebuilt, the curve saw {run['rows_seen']}")
        held, dropped = disjoint_heldout(held_all, train)
        if "heldout_rows" in run and (len(held), dropped) != (run["heldout_rows"], run["heldout_dropped"]):
            sys.exit(f"{key}: held-out rows {len(held)} (-{dropped}) differ from the curve's {run['heldout_rows']}")
        assert not {r["text"] for r in held} & {r["text"] for r in train}, "held-out texts among the training texts"
        return {"n": n, "seed": seed, "train": train, "held": held, "dropped": dropped, "run": run}

    states = SourceStates(pipe, layers, a.batch_size)
    need = ([order[0]] if a.choose == "once" and "best_layer" not in res else []) + pending
    rows = {k: point_rows(k) for k in dict.fromkeys(need)}
    states.add(ev + held_all + [r for pt in rows.values() for r in pt["train"]])
    t_states = round(time.time() - t_start, 1)
    print(f"source states of {len(states.index)} texts, layers {layers}: {t_states} s (with loading)", flush=True)

    if a.choose == "once" and "best_layer" not in res:
        pt = rows[order[0]]
        best, tried = choose_layers(states, layers, pt, ev)
        res.update(best_layer=best, best_layer_chosen_at=order[0] + " (its held-out rows; reused for every point)",
                   best_layer_heldout={pool: {str(l): r["heldout_accuracy"] for l, r in t.items()} for pool, t in tried.items()})
        print(f"best layers at {order[0]}: " + ", ".join(f"{pool} {l}" for pool, l in best.items()) + "  (held-out: "
              + "; ".join(f"{pool} " + " ".join(f"L{l} {r['heldout_accuracy']:.3f}" for l, r in t.items())
                          for pool, t in tried.items()) + ")", flush=True)
        atomic_write_json(a.out, res | {"seconds": round(seconds_before + time.time() - t_start, 1)})

    for key in pending:
        pt, t0 = rows[key], time.time()
        out = {"n": pt["n"], "seed": pt["seed"], "train_rows": len(pt["train"]), "heldout_rows": len(pt["held"]),
               "heldout_dropped": pt["dropped"]}
        if a.choose == "each":
            best, tried = choose_layers(states, layers, pt, ev)
            out["best_layer_heldout"] = {pool: {str(l): r["heldout_accuracy"] for l, r in t.items()} for pool, t in tried.items()}
        else: best, tried = res["best_layer"], {"last": {}, "mean": {}}
        out["best_layer"] = best
        probes = {}
        for pool in ("last", "mean"):
            probes[f"probe_{pool}_L{source_layer}"] = tried[pool].get(source_layer) or probe(states, pool, source_layer, pt, ev)
            probes[f"probe_{pool}_best"] = ({"same_as": f"probe_{pool}_L{source_layer}"} | probes[f"probe_{pool}_L{source_layer}"]
                                            if best[pool] == source_layer else
                                            tried[pool].get(best[pool]) or probe(states, pool, best[pool], pt, ev))
        run = pt["run"]
        out.update(probes=probes, bridge_accuracy=run["accuracy"]["bridge"], bridge_preds=run["preds"]["bridge"],
                   curve_source_probe={"accuracy": run["accuracy"]["source_probe"], "C": run["probe_C"]["source"],
                                       "rows_differing_from_probe_last_L15": int(np.sum(
                                           np.array(run["preds"]["source_probe"]) != np.array(probes["probe_last_L15"]["preds"])))},
                   seconds=round(time.time() - t0, 1))
        res["points"][key] = out
        res.update(comparisons=comparisons(res, labels), command=command, commit=code_revision(),
                   machine=device_description(), seconds=round(seconds_before + time.time() - t_start, 1))
        res["points"] = dict(sorted(res["points"].items(), key=lambda kv: (kv[1]["n"], kv[1]["seed"])))
        atomic_write_json(a.out, res)
        cs = out["curve_source_probe"]
        print(f"{key}: bridge {out['bridge_accuracy']:.3f} | curve source_probe {cs['accuracy']:.3f} (C {cs['C']:g}) vs "
              f"probe_last_L15 {probes['probe_last_L15']['accuracy']:.3f} (C {probes['probe_last_L15']['C']:g}, "
              f"{cs['rows_differing_from_probe_last_L15']} rows differ) | "
              + " ".join(f"{m} {probes[m]['accuracy']:.3f}" + (f" (L{probes[m]['layer']})" if m.endswith("best") else "")
                         for m in PROBES[1:]) + f" | {out['seconds']} s", flush=True)
    report(res)


def report(res: dict) -> None:
    "Print each comparison: the difference, its interval, raw and Holm p, verdict."
    for n, c in res.get("comparisons", {}).items():
        for row in comparison_rows(c["vs"], "bridge"): print(f"n={n}: " + " | ".join(row))

if __name__ == "__main__":
    main()
