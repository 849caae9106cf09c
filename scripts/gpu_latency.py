"""Decision latency alone (issue 16, goal 5), measured as `telepathy bench --latency-graphs` measures it but without the
training rows: the scale-random pair, batches of 1 and 64 from the bench's synthetic pool, eager under bf16 autocast,
then through CUDA graphs with a bf16 bridge (`bench.latency_with_graphs`), with the share of unchanged decisions.
Usage (on a GPU machine): python3 scripts/gpu_latency.py OUT.json"""
import sys, time
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, device_description, seed_everything
from telepathy_nb.models import drop_layers_after
from telepathy_nb.pipeline import build_pipeline
from telepathy_nb.bench import prompt_lengths, synthetic_rows, synthetic_batches, time_call, _decide_fast, latency_with_graphs

def main(out: str) -> dict:
    t0, cfg = time.time(), make_config("scale-random")
    seed_everything(cfg.seed)
    pipe = build_pipeline(cfg); dev = pipe.primer_ids.device
    pool = synthetic_rows(pipe, prompt_lengths(4096, cfg.seed), cfg.seed)
    one = lambda bs: synthetic_batches(pipe, pool, bs, 1, bucketed=False, seed=2)[0]
    drop_layers_after(pipe.source.model, pipe.layer)
    lat = {}
    for bs in (1, 64):
        b = one(bs); lat[f"ours_b{bs}_ms"] = time_call(lambda: _decide_fast(pipe, b), dev)
    agreement = latency_with_graphs(pipe, one, (1, 64), lat)
    res = {"device": device_description(), "latency": lat, "latency_agreement": agreement, "wall_s": time.time() - t0}
    atomic_write_json(out, res)
    print(res, flush=True)
    return res

if __name__ == "__main__": main(sys.argv[1] if len(sys.argv) > 1 else "latency.json")
