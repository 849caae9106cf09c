"""How many aten operations one eager training step of the embedded pair issues (issue 16, goal 6: the eager loop on a GPU
is bound by the host issuing operations). Profiles step 3 of the preset `embedded` (live source, batch 16) on this
machine's CPU with torch.profiler, then each part of a step alone, and writes the counts to results/checks/step_ops_cpu.json.
Usage: TELEPATHY_DATA_DIR=../shared/data python experiments/checks/check_step_ops.py [OUT]"""
import sys
from torch.profiler import profile, ProfilerActivity
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, git_revision, device_description
from telepathy_nb.train import setup_training, backward_step, optimizer_step, collate_step
from telepathy_nb.pipeline import target_label_loss

def _ops(fn) -> int:
    "aten operations of one call of fn (after one untimed call)."
    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof: fn()
    return sum(e.count for e in prof.key_averages())

def part_ops(st) -> dict:
    "Operations per part of a step: the source's forward, the bridge's forward and backward, the target's forward and backward."
    (batch, _), = collate_step(st, 4)
    pipe = st.pipe
    states = pipe.source_states(batch)
    soft = pipe.encode(batch, states).soft.detach()
    def bridge(): pipe.encode(batch, states).soft.float().pow(2).mean().backward()
    def target(): target_label_loss(pipe, soft.clone().requires_grad_(True), batch).backward()
    return {"source_forward": _ops(lambda: pipe.source_states(batch)), "bridge_forward_backward": _ops(bridge),
            "target_forward_backward": _ops(target)}

def main(out: str = "results/checks/step_ops_cpu.json") -> dict:
    cfg = make_config("embedded", device="cpu", quick_eval_every=0, steps=20)
    st, _ = setup_training(cfg)
    for s in (1, 2): optimizer_step(st, s, *backward_step(st, s, collate_step(st, s)))   # warm-up steps, not counted
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        optimizer_step(st, 3, *backward_step(st, 3, collate_step(st, 3)))
    ev = prof.key_averages()
    res = {"command": "python experiments/checks/check_step_ops.py", "commit": git_revision(), "machine": device_description(),
           "preset": "embedded", "batch_size": cfg.batch_size, "step": 3, "aten_ops_per_step": sum(e.count for e in ev),
           "most_called": {e.key: e.count for e in sorted(ev, key=lambda e: -e.count)[:15]}, "parts": part_ops(st)}
    atomic_write_json(out, res)
    print(res)
    return res

if __name__ == "__main__": main(*sys.argv[1:])
