"""Does padding (or the dtype) change what the target decides when it reads the text itself?

Gemma-3-270m zero-shot on 500 SST-2 validation rows (load_split seed 0), decided by class scores three ways:
batches of 16 (right-padded), one text at a time (no padding at all), and batches of 16 with fp32 weights.
Also the label-free calibrated decision (class scores minus their mean over 500 training texts).
Writes OUT/text_scores_<device>.json (OUT defaults to results/checks). Run from the repository root:
    TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_text_scores.py [cpu|cuda] [OUT]
"""
import json, sys, time
from pathlib import Path
import numpy as np
import torch
from telepathy_nb.core import device_description, package_versions, code_revision
from telepathy_nb.models import load_model
from telepathy_nb.data import load_split, training_rows, get_task
from telepathy_nb.scoring import text_scores
from telepathy_nb.baselines import calibrated_preds

device = sys.argv[1] if len(sys.argv) > 1 else "cpu"
out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "results/checks")
task, rows = get_task("sst2"), list(load_split("sst2", "eval", n=500, seed=0))
texts, labels = [r["text"] for r in rows], np.array([r["label"] for r in rows])
train_texts = [r["text"] for r in training_rows("sst2", n=500, seed=0)]
acc = lambda p: {"accuracy": float((p == labels).mean()),
                 "per_class": {n: float((p[labels == c] == c).mean()) for c, n in enumerate(task.label_names)}}
results, scores = {}, {}
for name, dtype, bs in (("batch16", None, 16), ("batch1_unpadded", None, 1), ("batch16_fp32", torch.float32, 16)):
    t = time.time()
    lm = load_model("gemma-3-270m", device=device, dtype=dtype)
    s = text_scores(lm, task, texts, batch_size=bs)
    scores[name] = s
    results[name] = {**acc(s.argmax(-1)), "dtype": str(lm.model.dtype), "batch_size": bs, "s": round(time.time() - t, 1)}
    if name == "batch16":
        results["batch16_calibrated"] = acc(calibrated_preds(s, text_scores(lm, task, train_texts, batch_size=bs)))
    print(name, results[name], flush=True)
results["max_abs_score_gap_batch16_vs_batch1"] = float(np.abs(scores["batch16"] - scores["batch1_unpadded"]).max())
results["decisions_changed_by_padding"] = int((scores["batch16"].argmax(-1) != scores["batch1_unpadded"].argmax(-1)).sum())
out = {"check": "Gemma-3-270m zero-shot on 500 SST-2 validation rows: padded batches vs one text at a time vs fp32, and calibrated",
       "command": f"python experiments/checks/check_text_scores.py {device}", "commit": code_revision(), "machine": device_description(),
       "versions": package_versions(), "results": results}
out_dir.mkdir(parents=True, exist_ok=True)
(out_dir / f"text_scores_{torch.device(device).type}.json").write_text(json.dumps(out, indent=1))
print(json.dumps(results, indent=1))
