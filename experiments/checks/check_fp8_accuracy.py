"""Does FP8 for the frozen models change what a trained bridge decides? (issue 16: "FP8 for the frozen target's GEMMs, with an
accuracy check on the embedded pair".) Exports a finished run's bridge, then scores every validation row four ways: the
models as loaded, FP8 weights (`check_decision_latency.FP8Linear`: e4m3, one scale per output row, inputs quantised per row)
in the target's decoder layers only, in the source's only, and in both. Each variant is compared with the first on the same
rows: accuracy, McNemar's exact test, the paired bootstrap difference and its TOST verdict (±2 points).

Usage: python experiments/checks/check_fp8_accuracy.py RUN_DIR OUT_JSON [DEVICE]"""
import sys
import tempfile
from pathlib import Path
from check_decision_latency import FP8Linear, restore, swap_linears
from telepathy_nb.artefact import TelepathyPipeline, export_bridge
from telepathy_nb.core import atomic_write_json, device_description
from telepathy_nb.data import load_split
from telepathy_nb.evaluate import evaluate
from telepathy_nb.stats import equivalence_verdict, mcnemar_exact, paired_bootstrap_difference


def main(run_dir: Path, out: Path, device: str) -> None:
    art = export_bridge(run_dir, Path(tempfile.mkdtemp(prefix="fp8-check-")) / "artefact", device=device)
    pipe = TelepathyPipeline.from_pretrained(art, device=device).pipe
    task = pipe.collator.task
    rows = [dict(r) for r in load_split(task, "eval")]
    labels = [r["label"] for r in rows]
    models = {"target": [pipe.target.model], "source": [pipe.source.model], "both": [pipe.target.model, pipe.source.model]}
    res = {"kind": "fp8_accuracy", "run": str(run_dir), "task": task.name, "rows": len(rows), "device": device_description(),
           "command": " ".join(sys.argv), "variants": {}}
    base = None
    for name in ("as_loaded", "fp8_target", "fp8_source", "fp8_both"):
        undo = [] if name == "as_loaded" else [u for m in models[name[4:]] for u in swap_linears(m, lambda w: FP8Linear(w, 16), False)]
        preds = [p["pred"] for p in evaluate(pipe, rows, progress=False)["predictions"]]
        restore(undo)
        acc = sum(int(p == y) for p, y in zip(preds, labels)) / len(rows)
        r = {"accuracy": acc}
        if base is None: base = preds
        else:
            diff = paired_bootstrap_difference(labels, [preds], [base])
            r.update(same_decision=sum(int(a == b) for a, b in zip(preds, base)) / len(rows), mcnemar=mcnemar_exact(labels, preds, base),
                     diff_vs_as_loaded=diff, verdict=equivalence_verdict(diff, subject="fp8"))
        res["variants"][name] = r
        print(name, {k: v for k, v in r.items() if k != "diff_vs_as_loaded"}, flush=True)
        atomic_write_json(out, res)


if __name__ == "__main__":
    if len(sys.argv) < 3: sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "cuda")
