"""Gemma-3-270m zero-shot on 500 SST-2 validation rows, fp32 vs bf16 weights, on the CPU.

Writes results/checks/gemma_zero_shot_dtype_cpu.json. Run from the repository root with the data folder set:
    TELEPATHY_DATA_DIR=../shared/data .venv/bin/python experiments/checks/check_gemma_dtype.py
"""
import json, subprocess, time
import torch
from telepathy_nb.core import device_description, package_versions
from telepathy_nb.models import load_model
from telepathy_nb.data import load_split, get_task
from telepathy_nb.evaluate import zero_shot

rows = list(load_split("sst2", "eval", n=500, seed=0))
results = {}
for dtype in (torch.float32, torch.bfloat16):
    t = time.time()
    r = zero_shot(load_model("gemma-3-270m", device="cpu", dtype=dtype), get_task("sst2"), rows, progress=False)
    results[str(dtype)] = {"accuracy": r["accuracy"], "per_class": r["per_class_accuracy"], "s": round(time.time() - t, 1)}
    print(dtype, results[str(dtype)], flush=True)
out = {"check": "Gemma-3-270m zero-shot on 500 SST-2 validation rows (load_split seed 0), fp32 vs bf16 weights, on the CPU",
       "why": "on the H100 (bf16, CUDA) the same baseline gave 0.530 in results/baselines_sst2.json",
       "command": "python experiments/checks/check_gemma_dtype.py",
       "commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
       "machine": device_description(), "versions": package_versions(), "results": results}
json.dump(out, open("results/checks/gemma_zero_shot_dtype_cpu.json", "w"), indent=1)
