"""Does the other model's message add anything to the text? (issue 34) Every method of `message.MESSAGE_METHODS` at each
n and seed, then seed-level comparisons of `message` with each other method.

    python experiments/checks/check_message.py OUT_JSON [--preset embedded] [--n 500,2000] [--seeds 0,1,2,3,4]
        [--lrs 1e-4,3e-4,1e-3,3e-3] [--methods prompt_K,...] [--eval-batch 32] [-p key=value ...]
    python experiments/checks/check_message.py OUT_JSON --merge PART_JSON ...

Both models load once; the points run one after another and OUT_JSON is written after each, so a stopped run
continues where it stopped (the same command again). Validation rows: the config's `eval_size` (all when 0); held-out
rows: 300 of the config's `holdout_rows`, minus any whose text is a training text. Each comparison is a paired t over
seeds (`stats.seed_difference`) with Holm's adjustment over the comparisons at one n and `stats.equivalence_verdict`
(TOST at ±2 pp). `--merge` joins the points of runs of the same settings made apart (say, one process per n on one
GPU) into OUT_JSON, with the comparisons over all of them; the parts' commands are kept under `parts`.
"""
import argparse, json, sys
from pathlib import Path
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json
from telepathy_nb.data import heldout_rows
from telepathy_nb.grid import parse_value
from telepathy_nb.message import MESSAGE_METHODS, message_point
from telepathy_nb.models import load_model
from telepathy_nb.report import provenance
from telepathy_nb.stats import seed_difference, equivalence_verdict, adjust_verdicts
from telepathy_nb.study import eval_rows


def comparisons(res: dict) -> dict:
    "Per n: `message` minus each other method over the seeds both ran, Holm-adjusted; verdicts at Holm p < 0.05."
    out = {}
    for n in sorted({p["n"] for p in res["points"].values()}):
        pts = sorted((p for p in res["points"].values() if p["n"] == n), key=lambda p: p["seed"])
        others = [m for m in res["methods"] if m != "message"]
        if "message" not in res["methods"] or len(pts) < 2: continue
        recs = {}
        for m in others:
            d = seed_difference(res["labels"], [p["methods"]["message"]["preds"] for p in pts],
                                [p["methods"][m]["preds"] for p in pts], paired=True)
            recs[m] = {"difference": d, "verdict": equivalence_verdict(d, subject="message")}
        adjust_verdicts(recs)     # Holm over this n's comparisons: better/worse only where p (Holm) < 0.05
        out[str(n)] = {"seeds": [p["seed"] for p in pts], "vs": recs}
    return out


SETTINGS = ("kind", "preset", "overrides", "methods", "lrs", "labels")
"what the parts of a merge must share"


def merge(parts: list[Path], command: str) -> dict:
    "One result from runs of the same settings: every part's points (a point in two parts must be the same)."
    res = [json.loads(p.read_text()) for p in parts]
    for p, r in zip(parts[1:], res[1:]):
        bad = [k for k in SETTINGS if r.get(k) != res[0].get(k)]
        if bad: sys.exit(f"{p} differs from {parts[0]} in {bad}: merge only runs of the same settings")
    points = {}
    for p, r in zip(parts, res):
        for key, pt in r["points"].items():
            if key in points and points[key]["methods"] != pt["methods"]: sys.exit(f"{p}: point {key} differs from another part's")
            points[key] = pt
    merged = {k: res[0][k] for k in SETTINGS} | {"points": dict(sorted(points.items(), key=lambda kv: _order(kv[0])))}
    merged["parts"] = [{k: r.get(k) for k in ("command", "commit", "commit_recorded", "machine", "date")} for r in res]
    merged.update(comparisons=comparisons(merged), **provenance(command))
    for k in ("commit", "machine", "versions"):       # where the points were computed, not where they were merged
        if all(r.get(k) == res[0].get(k) for r in res): merged[k] = res[0].get(k)
        else: sys.exit(f"the parts differ in {k}: merge only runs of one code and machine")
    return merged


def _order(key: str) -> tuple[int, int]:
    "A point's key `n=N,seed=S` as (N, S)."
    n, seed = (int(part.split("=")[1]) for part in key.split(","))
    return n, seed


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out"); ap.add_argument("--preset", default="embedded")
    ap.add_argument("--n", default="500"); ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--lrs", default="1e-4,3e-4,1e-3,3e-3"); ap.add_argument("--methods", default=",".join(MESSAGE_METHODS))
    ap.add_argument("--eval-batch", type=int, default=None, help="rows per scoring pass (default: twice the batch size)")
    ap.add_argument("--merge", nargs="+", type=Path, metavar="PART_JSON", help="join these runs' points into OUT_JSON")
    ap.add_argument("-p", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    command = "python experiments/checks/check_message.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if a.merge:
        res = merge(a.merge, command)
        atomic_write_json(Path(a.out), res)
        return report(res)
    overrides = {k: parse_value(v) for k, v in (kv.split("=", 1) for kv in a.p)}
    cfg = make_config(a.preset, **overrides)
    ns, seeds = [int(x) for x in a.n.split(",")], [int(x) for x in a.seeds.split(",")]
    lrs, methods = tuple(float(x) for x in a.lrs.split(",")), tuple(a.methods.split(","))
    out = Path(a.out)
    fresh = {"kind": "message", "preset": a.preset, "overrides": overrides, "methods": list(methods), "lrs": list(lrs)}
    res = json.loads(out.read_text()) if out.exists() else fresh | {"points": {}}
    if bad := [k for k in fresh if res.get(k) != fresh[k]]:
        sys.exit(f"{out} holds a run with other {bad}: continue it with its own settings, or write to another file")
    src = load_model(cfg.source_model, device=cfg.device, trust_remote_code=cfg.trust_remote_code, seed=cfg.seed)
    tgt = load_model(cfg.target_model, device=cfg.device, trust_remote_code=cfg.trust_remote_code, seed=cfg.seed + 1)
    ev, held = eval_rows(cfg, "validation"), heldout_rows(cfg.task, cfg.holdout_rows)[:300]
    res["labels"] = [r["label"] for r in ev]
    for n in ns:
        for seed in seeds:
            key = f"n={n},seed={seed}"
            if key in res["points"]: continue
            say = lambda text: print(f"  {key}: {text}", file=sys.stderr, flush=True)
            res["points"][key] = message_point(cfg, n, seed, src, tgt, ev, held, methods=methods, lrs=lrs, log=say,
                                               batch_size=a.eval_batch)
            res.update(comparisons=comparisons(res), **provenance(command))
            atomic_write_json(out, res)
    report(res)


def report(res: dict) -> None:
    "Print each comparison of `res`: the difference, raw and Holm p, verdict."
    for n, c in res.get("comparisons", {}).items():
        for m, r in c["vs"].items():
            d = r["difference"]
            print(f"n={n} message - {m}: {100 * d['diff']:+.1f} pp, p {d['p']:.3f}, p(Holm) {d['p_holm']:.3f}: {r['verdict']}")


if __name__ == "__main__":
    main()
