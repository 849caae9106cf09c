"""How long does scoring multi-token labels take, and does reading each prefix once change any score? The target
(Gemma-3-270m) reads N validation texts of TASK (default banking77: 77 labels of 1-8 tokens) with the task's prompt and
scores every label two ways in the same process: the reference path (`class_scores(fast=False)`: every (row, label)
pair from the start) and the shared-prefix path (`shared_prefix_class_scores`: each prompt read once, its KV cache
repeated for the labels). Prints a table; writes OUT/label_scoring_<task>_<device>.json. Run from the repository root:
  TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_label_scoring.py [OUT] [N] [TASK] [BATCH]"""
import sys, time
from pathlib import Path
import numpy as np
import torch
from telepathy_nb.core import atomic_write_json, code_revision, device_description
from telepathy_nb.report import markdown_table
from telepathy_nb.data import get_task, load_split, verbaliser_ids
from telepathy_nb.models import load_model
from telepathy_nb.scoring import text_class_scores

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/checks")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
task_name = sys.argv[3] if len(sys.argv) > 3 else "banking77"
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 4
device = "cuda" if torch.cuda.is_available() else "cpu"
lm, task = load_model("gemma-3-270m", device=device), get_task(task_name)
rows = list(load_split(task_name, "eval"))[:n]
texts, labels = [r["text"] for r in rows], np.array([r["label"] for r in rows])
class_ids = verbaliser_ids(lm.tokenizer, task)
res = {"command": "python experiments/checks/check_label_scoring.py " + " ".join(sys.argv[1:]), "commit": code_revision(),
       "machine": device_description(), "task": task_name, "rows": n, "batch": batch, "classes": len(class_ids),
       "label_tokens": {"min": min(map(len, class_ids)), "max": max(map(len, class_ids)), "mean": float(np.mean([len(c) for c in class_ids]))},
       "paths": {}}
scores = {}
for name, fast in (("reference: every (row, label) from the start", False), ("shared prefix: each prompt once", True)):
    t0 = time.time()
    with torch.no_grad():
        scores[name] = torch.cat([text_class_scores(lm, task, texts[i:i + batch], class_ids, fast=fast).float().cpu()
                                  for i in range(0, n, batch)]).numpy()
    secs = time.time() - t0
    res["paths"][name] = {"seconds": round(secs, 2), "seconds_per_row": round(secs / n, 3),
                          "accuracy": float((scores[name].argmax(-1) == labels).mean())}
    atomic_write_json(out / f"label_scoring_{task_name}_{device}.json", res)
ref, new = scores.values()
res["max_abs_score_difference"] = float(np.abs(ref - new).max())
res["same_decisions"] = int((ref.argmax(-1) == new.argmax(-1)).sum())
first = next(iter(res["paths"].values()))["seconds"]
for p in res["paths"].values(): p["speedup"] = round(first / p["seconds"], 2)
atomic_write_json(out / f"label_scoring_{task_name}_{device}.json", res)
print(markdown_table(["path", "s", "s / row", "speed-up", "accuracy %"],
                     [[k, f"{v['seconds']:.1f}", f"{v['seconds_per_row']:.2f}", f"{v['speedup']:.2f}x", f"{100 * v['accuracy']:.1f}"]
                      for k, v in res["paths"].items()]))
print(f"{task_name}: {len(class_ids)} labels of {res['label_tokens']['min']}-{res['label_tokens']['max']} tokens; "
      f"largest score difference {res['max_abs_score_difference']:.2e}; same decision on {res['same_decisions']}/{n} rows")
