"""Where the demo's time goes on this CPU: one training step's parts and scoring rows, for the `demo` preset.

Writes results/checks/demo_costs_cpu.json. Run from the repository root with the data folder set:
    TELEPATHY_DATA_DIR=../shared/data .venv/bin/python experiments/checks/check_demo_costs.py
"""
import time
import torch
from torch.profiler import profile, ProfilerActivity
from telepathy_nb.core import adamw, atomic_write_json
from telepathy_nb.report import provenance
from telepathy_nb.config import make_config
from telepathy_nb.pipeline import build_pipeline, run_loss, bridge_scores, generate_answers
from telepathy_nb.evaluate import zero_shot
from telepathy_nb.data import load_split, get_task
from telepathy_nb.models import source_states

torch.set_flush_denormal(True)
cfg = make_config("demo")
pipe = build_pipeline(cfg)
batches = [pipe.collator(list(load_split("sst2", "train", n=16 * 10, seed=0))[i:i + 16]) for i in range(0, 160, 16)]
opt = adamw(pipe.bridge.parameters(), lr=cfg.lr)

def seconds(fn, skip: int = 2) -> float:
    "Mean seconds of fn(batch) over the batches after the first `skip` (warm-up)."
    ts = []
    for b in batches:
        t = time.perf_counter(); fn(b); ts.append(time.perf_counter() - t)
    return sum(ts[skip:]) / len(ts[skip:])

def step(b):
    run_loss(pipe, b, cfg)["loss"].backward(); opt.step(); opt.zero_grad()

def source_forward(b):
    with torch.no_grad(): source_states(pipe.source.model, b["source_ids"], b["source_mask"], cfg.source_layer)

def output_layer_seconds() -> float:
    "Seconds of the target's output-layer matmuls (forward and backward) in one profiled step."
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof: step(batches[0])
    vocab = pipe.target.model.get_output_embeddings().weight.shape[0]
    return sum(e.self_cpu_time_total for e in prof.key_averages(group_by_input_shape=True)
               if e.key == "aten::mm" and any(vocab in s for s in e.input_shapes if s)) / 1e6

rows = list(load_split("sst2", "eval", n=128, seed=0))
pipe.bridge.eval()
t = time.perf_counter(); bridge_scores(pipe, rows, 32, False); score_s = time.perf_counter() - t
t = time.perf_counter(); bridge_scores(pipe, rows, 32, False, also=lambda soft: generate_answers(pipe, soft)); both_s = time.perf_counter() - t
t = time.perf_counter(); zero_shot(pipe.target, get_task("sst2"), rows); zero_s = time.perf_counter() - t
pipe.bridge.train()
res = {"check": "where the demo preset's time goes: one training step (batch 16) and scoring 128 validation rows",
       **provenance("python experiments/checks/check_demo_costs.py"), "threads": torch.get_num_threads(),
       "step_s": seconds(step), "source_forward_s": seconds(source_forward), "output_layer_s": output_layer_seconds(),
       "per_872_rows_s": {"scores": score_s * 872 / 128, "generation_extra": (both_s - score_s) * 872 / 128,
                          "zero_shot": zero_s * 872 / 128}}
print(atomic_write_json("results/checks/demo_costs_cpu.json", res).read_text())
