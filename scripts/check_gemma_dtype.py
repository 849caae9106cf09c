# Gemma-3-270m zero-shot on 500 SST-2 validation rows, fp32 vs bf16 weights, on the CPU (results/checks/gemma_zero_shot_dtype_cpu.json).
import torch, time, json
from telepathy_nb.models import load_model
from telepathy_nb.data import load_split, get_task
from telepathy_nb.evaluate import zero_shot
rows = list(load_split("sst2", "eval", n=500, seed=0))
out = {}
for dt in (torch.float32, torch.bfloat16):
    t = time.time()
    lm = load_model("gemma-3-270m", device="cpu", dtype=dt)
    r = zero_shot(lm, get_task("sst2"), rows, progress=False)
    out[str(dt)] = {"accuracy": r["accuracy"], "per_class": r["per_class_accuracy"], "s": round(time.time() - t, 1)}
    print(dt, out[str(dt)], flush=True)
json.dump(out, open("results/checks/gemma_zero_shot_dtype_cpu.raw.json", "w"), indent=1)
