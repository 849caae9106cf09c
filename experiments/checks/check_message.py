"""Does the other model's message add anything to the text? (issue 34) Every method of `message.MESSAGE_METHODS` at each
n and seed, then seed-level comparisons of `message` with each other method.

    python experiments/checks/check_message.py OUT_JSON [--preset embedded] [--n 500,2000] [--seeds 0,1,2,3,4]
        [--lrs 1e-4,3e-4,1e-3,3e-3] [--methods prompt_K,...] [--eval-batch 32] [-p key=value ...]
    python experiments/checks/check_message.py OUT_JSON --merge PART_JSON ...
    python experiments/checks/check_message.py OUT_JSON --rescore

Both models load once; the points run one after another and OUT_JSON is written after each, so a stopped run
continues where it stopped (the same command again). Validation rows: the config's `eval_size` (all when 0); held-out
rows: 300 of the config's `holdout_rows`, minus any whose text is a training text. Each comparison is a paired t over
seeds (`stats.paired_comparisons`: `stats.seed_difference`) with Holm's adjustment over the comparisons at one n and `stats.equivalence_verdict`
(TOST at ±2 pp). `--merge` joins the points of runs of the same settings made apart (say, one process per n on one
GPU) into OUT_JSON, with the comparisons over all of them; the parts' commands are kept under `parts`. Parts may also
hold different methods of the same points (one process trains `lora`, another the rest): a point's methods are then
joined; a point that lacks some of them (one pool got further than the other) is kept and named under `lacking`, and
each comparison uses the seeds where both of its methods ran. Parts of another commit
or machine (a run continued in a later device session) merge only with `--mixed`, which records each point's parts.
`--rescore` recomputes OUT_JSON's comparisons and goal from its stored predictions with this code (a result written
before the comparisons named their seeds and the goal existed); what the run recorded stays, and the rescore's command,
commit, machine and what changed go under `rescored`.
`--claim DIR` lets several processes share one list of points: each point is claimed (a directory made in DIR) by the
first process to reach it, so processes started with the same --n, --seeds and --methods split the points between them,
each writing its own OUT_JSON. `--done PART...` skips the points that parts of the same methods already hold (a run
continued on another machine).
"""
import argparse, json, os, sys
import numpy as np
from pathlib import Path
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json
from telepathy_nb.data import heldout_rows
from telepathy_nb.grid import parse_value
from telepathy_nb.message import MESSAGE_METHODS, message_point
from telepathy_nb.models import load_model
from telepathy_nb.report import comparison_rows, provenance
from telepathy_nb.stats import paired_comparisons
from telepathy_nb.study import eval_rows


def ran(res: dict, n: int, *methods: str) -> list[dict]:
    "The points at `n` (by seed) where every one of `methods` ran."
    return sorted((p for p in res["points"].values() if p["n"] == n and all(m in p["methods"] for m in methods)),
                  key=lambda p: p["seed"])


def comparisons(res: dict) -> dict:
    """Per n: `message` minus each other method over the seeds both ran (each comparison's `seeds`), Holm-adjusted
    over the comparisons at that n; verdicts at Holm p < 0.05. A method with fewer than 2 such seeds is not compared."""
    out = {}
    if "message" not in res["methods"]: return out
    for n in sorted({p["n"] for p in res["points"].values()}):
        both = {m: ran(res, n, "message", m) for m in res["methods"] if m != "message"}
        both = {m: pts for m, pts in both.items() if len(pts) >= 2}
        if not both: continue
        preds = lambda pts, m: [p["methods"][m]["preds"] for p in pts]
        recs = paired_comparisons(res["labels"], {m: preds(pts, "message") for m, pts in both.items()},
                                  {m: preds(pts, m) for m, pts in both.items()}, subject="message")
        for m, pts in both.items(): recs[m]["seeds"] = [p["seed"] for p in pts]
        out[str(n)] = {"seeds": [p["seed"] for p in ran(res, n, "message")], "vs": recs}
    return out


TEXT_ONLY = ("prompt_K", "prompt_2K", "lora")
"the methods where the target reads the text alone, with a trainable budget (the message's bar)"
GOAL_SEEDS = 5
"issue 34: headline comparisons use at least five seeds"


def goal(res: dict) -> dict:
    """Per n, issue 34's bar: `message` against the best same-budget text-only method present (highest mean accuracy
    of TEXT_ONLY), over >= GOAL_SEEDS seeds both ran. "adds" when it leads by >= 2 pp at Holm p < 0.01 and also beats
    `self_message` (Holm p < 0.05), the sign that the gain comes from the other model; "adds nothing" when it is
    TOST-equivalent to that method; "falls short" when that method is better at Holm p < 0.01 (the text with the same
    trainable budget does more than the message); otherwise (or with fewer seeds) "unsettled"."""
    out = {}
    for n, c in (res.get("comparisons") or {}).items():
        text = [m for m in TEXT_ONLY if m in c["vs"]]
        if not text: continue
        best = max(text, key=lambda m: np.mean([p["methods"][m]["accuracy"] for p in ran(res, int(n), m)]))
        d, s = c["vs"][best], c["vs"].get("self_message")
        diff, p_holm = d["difference"]["diff"], d["difference"]["p_holm"]
        from_other = s is not None and s["verdict"] == "message better"
        verdict = ("unsettled" if len(d["seeds"]) < GOAL_SEEDS else
                   "adds" if diff >= 0.02 and p_holm < 0.01 and from_other else
                   "adds nothing" if d["verdict"].startswith("equivalent") else
                   "falls short" if diff < 0 and p_holm < 0.01 else "unsettled")
        out[n] = {"best_text_only": best, "seeds": d["seeds"], "diff": diff, "p_holm": p_holm,
                  "self_diff": s["difference"]["diff"] if s else None, "self_p_holm": s["difference"]["p_holm"] if s else None,
                  "verdict": verdict}
    return out


def judged(res: dict) -> dict:
    "`res` with its comparisons and goal (re)computed from its points."
    res["comparisons"] = comparisons(res)
    res["goal"] = goal(res)
    return res


SETTINGS = ("kind", "preset", "overrides", "lrs", "labels")
"what the parts of a merge must share"


def rescore(out: Path, command: str) -> dict:
    "OUT's comparisons and goal recomputed from its stored predictions; the rescore recorded under `rescored`."
    res = json.loads(out.read_text())
    old = res.get("comparisons", {})
    had = {"the comparisons' seeds": all("seeds" in r for c in old.values() for r in c["vs"].values()),
           "the goal": "goal" in res}
    judged(res)
    changed = [f"n={n} {m}" for n, c in res["comparisons"].items() for m, r in c["vs"].items()
               if old.get(n, {}).get("vs", {}).get(m, {}).get("verdict") != r["verdict"]]
    added = [what for what, has in had.items() if not has]
    p = provenance(command)
    res["rescored"] = {"command": command, "commit": p["commit"], "machine": p["machine"], "date": p["date"],
                       "what": "recomputed from the stored predictions" + (f", adding {' and '.join(added)}" if added else "")
                               + (f"; verdicts changed: {', '.join(changed)}" if changed else "; every verdict as before")}
    atomic_write_json(out, res)
    return res


def join_point(key: str, a: dict, b: dict, where: Path) -> dict:
    "One point from two parts' records of it: the methods joined (a method in both must be the same), seconds added."
    same = [k for k in a if k not in ("methods", "seconds", "lora_rank") and a[k] != b.get(k)]
    both = [m for m in a["methods"] if m in b["methods"] and a["methods"][m] != b["methods"][m]]
    if same or both: sys.exit(f"{where}: point {key} differs from another part's in {same + both}")
    return a | {"methods": a["methods"] | b["methods"], "seconds": round(a["seconds"] + b["seconds"], 1),
                "lora_rank": a.get("lora_rank") or b.get("lora_rank")}


def merge(parts: list[Path], command: str, mixed: bool = False) -> dict:
    """One result from runs of the same settings: every part's points, a point's methods joined across parts; a point
    that lacks some of the joined methods is kept and named under `lacking` (the comparisons pair each method with
    `message` over the seeds both ran). The parts must share commit, machine
    and versions unless `mixed` (a run continued on another machine or at another commit): then every point names the
    parts it came from (`parts_of_point`), `machine` names every machine, commit and versions are the last part's, and
    `mixed` lists what differs."""
    res = [json.loads(p.read_text()) for p in parts]
    for p, r in zip(parts[1:], res[1:]):
        bad = [k for k in SETTINGS if r.get(k) != res[0].get(k)]
        if bad: sys.exit(f"{p} differs from {parts[0]} in {bad}: merge only runs of the same settings")
    points, methods = {}, []
    where = {}
    for i, (p, r) in enumerate(zip(parts, res)):
        methods += [m for m in r["methods"] if m not in methods]
        for key, pt in r["points"].items():
            points[key] = join_point(key, points[key], pt, p) if key in points else pt
            where.setdefault(key, []).append(i)
    methods = sorted(methods, key=lambda m: MESSAGE_METHODS.index(m) if m in MESSAGE_METHODS else len(MESSAGE_METHODS))
    lacking = {k: [m for m in methods if m not in pt["methods"]] for k, pt in points.items()}
    lacking = {k: v for k, v in sorted(lacking.items(), key=lambda kv: _order(kv[0])) if v}
    merged = {k: res[0][k] for k in SETTINGS} | {"methods": methods,
                                                 "points": dict(sorted(points.items(), key=lambda kv: _order(kv[0])))}
    if lacking: merged["lacking"] = lacking
    merged["parts"] = [{k: r.get(k) for k in ("command", "commit", "commit_recorded", "machine", "date")} for r in res]
    judged(merged).update(provenance(command))
    differ = [k for k in ("commit", "machine", "versions") if any(r.get(k) != res[0].get(k) for r in res)]
    if differ and not mixed: sys.exit(f"the parts differ in {differ}: merge only runs of one code and machine (or --mixed)")
    for k in ("commit", "machine", "versions"):       # where the points were computed, not where they were merged
        merged[k] = res[-1].get(k)
    if differ:
        merged["machine"] = "; ".join(dict.fromkeys(r.get("machine") for r in res))   # every machine that ran a point
        merged["mixed"] = differ
        merged["parts_of_point"] = {k: where[k] for k in merged["points"]}
    return merged


def claim_dir(claims: Path, methods, key: str) -> Path:
    "The directory whose making claims point `key` for a process training `methods`."
    return claims / f"{'+'.join(methods)}_{key.replace(',', '_')}"


def claimed(claims: Path | None, methods, key: str) -> bool:
    "Whether another process sharing `claims` has taken this point (else it is ours now; no `claims`: always ours)."
    if claims is None: return False
    try: os.makedirs(claim_dir(claims, methods, key))
    except FileExistsError: return True
    return False


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
    ap.add_argument("--mixed", action="store_true", help="--merge parts of other commits or machines (recorded)")
    ap.add_argument("--done", nargs="+", type=Path, default=[], metavar="PART_JSON",
                    help="skip the points these parts (of the same methods, from an earlier machine) hold")
    ap.add_argument("--rescore", action="store_true", help="recompute OUT_JSON's comparisons and goal (recorded)")
    ap.add_argument("--claim", type=Path, metavar="DIR", help="share the points with other processes claiming in DIR")
    ap.add_argument("-p", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    command = "python experiments/checks/check_message.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if a.rescore:
        return report(rescore(Path(a.out), command))
    if a.merge:
        res = merge(a.merge, command, mixed=a.mixed)
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
    done = {k for part in a.done for r in [json.loads(part.read_text())] if r["methods"] == list(methods) for k in r["points"]}
    for n in ns:
        for seed in seeds:
            key = f"n={n},seed={seed}"
            if key in res["points"] or key in done or claimed(a.claim, methods, key): continue
            say = lambda text: print(f"  {key}: {text}", file=sys.stderr, flush=True)
            try:
                res["points"][key] = message_point(cfg, n, seed, src, tgt, ev, held, methods=methods, lrs=lrs, log=say,
                                                   batch_size=a.eval_batch)
            except BaseException:                     # a failed point is free for another process again
                if a.claim: os.rmdir(claim_dir(a.claim, methods, key))
                raise
            judged(res).update(provenance(command))
            atomic_write_json(out, res)
    report(res)


def report(res: dict) -> None:
    "Print each comparison of `res`: the difference, its interval, raw and Holm p, verdict."
    for n, c in res.get("comparisons", {}).items():
        for row in comparison_rows(c["vs"], "message"): print(f"n={n}: " + " | ".join(row))

if __name__ == "__main__":
    main()
