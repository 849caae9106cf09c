"""Where a training loop's first seconds go: the first steps of the embedded pair, one at a time, each split into
collating, the forward/backward (a step graph's warm-up and capture happen here, in step 1) and the optimizer step with
the step's one wait. A fresh process per variant, the state cache built before the clock starts. With --profile, the
first two steps also run under torch.profiler and OUT_JSON's sibling OUT.profile.txt lists the operations that took
the most host time in them (what a fresh process pays once: allocation, library start-up, a graph's capture).

Usage: python experiments/checks/check_first_steps.py OUT_JSON [plain|step_graphs] [STEPS] [DEVICE] [--profile]"""
import json, sys, time
from contextlib import nullcontext
from pathlib import Path
import torch
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, device_description
from telepathy_nb.train import setup_training, collate_step, backward_step, optimizer_step

args = [a for a in sys.argv[1:] if a != "--profile"]
out, variant = args[0], (args[1] if len(args) > 1 else "plain")
steps, device, profile = int(args[2]) if len(args) > 2 else 12, args[3] if len(args) > 3 else "cuda", "--profile" in sys.argv
cfg = make_config("embedded", steps=steps, train_size=2000, quick_eval_every=0, checkpoint_every=0, device=device,
                  state_cache=f"/tmp/first_steps_cache_{device}", step_graphs=variant == "step_graphs")
st, _ = setup_training(cfg)
on_gpu = st.accelerator.device.type == "cuda"
sync = torch.cuda.synchronize if on_gpu else (lambda: None)
activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if on_gpu else [])
prof = torch.profiler.profile(activities=activities) if profile else nullcontext()
st.pipe.bridge.train(); t0 = time.perf_counter(); st.pipe.source.model.to("cpu"); sync()
rows = [{"step": 0, "source_to_cpu_s": time.perf_counter() - t0}]
with prof:
    for step in range(1, steps + 1):
        t = [time.perf_counter()]
        micro = collate_step(st, step); sync(); t.append(time.perf_counter())
        parts, gn = backward_step(st, step, micro); sync(); t.append(time.perf_counter())
        parts, gn = optimizer_step(st, step, parts, gn); sync(); t.append(time.perf_counter())
        rows.append({"step": step, "collate_s": t[1] - t[0], "forward_backward_s": t[2] - t[1], "optimizer_s": t[3] - t[2],
                     "loss": parts["loss"]})
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        if profile and step == 2: break                          # the profile covers the first two steps only
result = {"kind": "first_steps", "variant": variant, "device": device_description(), "command": " ".join(sys.argv), "steps": rows}
if profile:
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30)
    Path(out).with_suffix(".profile.txt").write_text(table)
    result["profile"] = str(Path(out).with_suffix(".profile.txt"))
atomic_write_json(out, result)
