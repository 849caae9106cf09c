"""Where a batch-1 decision's GPU time goes at real scale (issue 16, goal 5: <= 10 ms on an H100), and what three levers
buy: torch.compile of the source body, the bridge and the target body (inductor's fused kernels, no CUDA graphs of
its own: the whole decision is then captured as one graph), the bridge held in bf16 (no fp32 -> bf16 cast of its 537M weights at every call), the projections that read the same
input fused into one GEMM (q/k/v, gate/up), and FP8 weights for the frozen source and target (e4m3, one scale per output
row; inputs quantised per row at each call: `torch._scaled_mm`).

For each variant: the decision captured whole as one CUDA graph (`graphs.DecisionGraph`, median of 20 replays) and
the sum of its kernels' GPU time in a profiled replay, split into GEMM / attention / the rest, with the top kernels in
decision_profile.txt; its agreement with the base variant's eager decisions on 16 one-row decisions (random weights: a
check that the variant computes the same function, not an accuracy). Eager variants are also timed and profiled call by
call and checked on a batch of 64. The scale-random preset, as `telepathy bench` uses it.

Usage: [CUDNN_ATTENTION=0|1] python experiments/checks/check_decision_latency.py OUT_DIR [VARIANT ...]   (default: every variant but the compiled
ones, whose capture failed on an H100 with torch 2.11: "operation failed due to a previous error during capture";
CUDNN_ATTENTION=0 or 1 overrides the preset's `cudnn_attention` (scale-random: on))
A capture that fails is recorded (each error in the chain, per capture mode) and retried with capture_error_mode
'thread_local'; the script then goes on to the next variant (a capture that left the device's state broken can
still stop it there: one did, on the RNG's offset).
Writes OUT_DIR/decision_latency.json after every variant and OUT_DIR/decision_profile.txt."""
import json, os, sys, time
from pathlib import Path
import torch
import torch._dynamo
from torch import nn
from telepathy_nb.bench import decide_fast, uncompiled, compile_for_latency, prompt_lengths, synthetic_batches, synthetic_rows, time_call
from telepathy_nb.config import make_config
from telepathy_nb.core import atomic_write_json, device_description, seed_everything
from telepathy_nb.graphs import DecisionGraph
from telepathy_nb.models import drop_layers_after
from telepathy_nb.pipeline import build_pipeline

E4M3 = torch.float8_e4m3fn
E4M3_MAX = torch.finfo(E4M3).max


class FP8Linear(nn.Module):
    "A frozen linear layer (no bias) whose weight is e4m3 with one fp32 scale per output row; each call quantises its input per row."
    def __init__(self, weight: torch.Tensor, pad_rows: int = 1):
        super().__init__()
        w = weight.detach().float()
        scale = w.abs().amax(1, keepdim=True).clamp(min=1e-12) / E4M3_MAX
        self.register_buffer("wq", (w / scale).to(E4M3))                  # (N, K) row-major: wq.t() is column-major
        self.register_buffer("w_scale", scale.t().contiguous())            # (1, N)
        self.pad_rows, self.out_features, self.out_dtype = pad_rows, weight.shape[0], weight.dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead, x2 = x.shape[:-1], x.reshape(-1, x.shape[-1])
        m = x2.shape[0]
        if m % self.pad_rows: x2 = nn.functional.pad(x2, (0, 0, 0, self.pad_rows - m % self.pad_rows))
        s = x2.abs().amax(1, keepdim=True).float().clamp(min=1e-12) / E4M3_MAX
        y = torch._scaled_mm((x2 / s).to(E4M3), self.wq.t(), scale_a=s, scale_b=self.w_scale, out_dtype=self.out_dtype)
        return y[:m].reshape(*lead, self.out_features)


class _Shared(nn.Module):
    """One linear layer standing for several that read the same input, in the order the layer calls them (q, k, v; gate, up):
    the first computes all of them and keeps the split, the others return their part. No tensor identity is checked, so
    torch.compile traces it as plain code."""
    def __init__(self, fused: nn.Module, sizes: list[int]):
        super().__init__()
        self.fused, self.sizes, self.parts = fused, sizes, None

    def part(self, x: torch.Tensor, i: int) -> torch.Tensor:
        if i == 0: self.parts = self.fused(x).split(self.sizes, -1)
        return self.parts[i]


class _Part(nn.Module):
    def __init__(self, shared: _Shared, i: int):
        super().__init__()
        self.shared, self.i = [shared], i                                # a list: not registered twice as a submodule

    def forward(self, x): return self.shared[0].part(x, self.i)


def _bf16_linear(weight: torch.Tensor) -> nn.Module:
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=False, device=weight.device, dtype=weight.dtype)
    lin.weight.data.copy_(weight); lin.requires_grad_(False)
    return lin


GROUPS = [("self_attn", ("q_proj", "k_proj", "v_proj")), ("self_attn", ("o_proj",)),
          ("mlp", ("gate_proj", "up_proj")), ("mlp", ("down_proj",))]


def swap_linears(model, make, fuse: bool) -> list:
    """Replace each decoder layer's projections by `make(weight)` (fused per GROUPS when `fuse`, else one by one); returns
    what `restore` needs to put the originals back."""
    undo = []
    for layer in model.model.layers:
        for sub, names in GROUPS:
            parent = getattr(layer, sub)
            olds = [getattr(parent, n) for n in names]
            assert all(o.bias is None for o in olds), "biases are not handled"
            undo += [(parent, n, o) for n, o in zip(names, olds)]
            if fuse and len(names) > 1:
                shared = _Shared(make(torch.cat([o.weight for o in olds])), [o.out_features for o in olds])
                parent.add_module("_shared_" + names[0], shared)
                for i, n in enumerate(names): setattr(parent, n, _Part(shared, i))
            else:
                for n, o in zip(names, olds): setattr(parent, n, make(o.weight))
    return undo


def restore(undo: list) -> None:
    "Put back the projections `swap_linears` replaced, and drop the fused layers it added."
    for parent, n, old in undo: setattr(parent, n, old)
    for parent in {id(p): p for p, _, _ in undo}.values():
        for k in [k for k in parent._modules if k.startswith("_shared_")]: del parent._modules[k]


def kernel_times(fn, dev) -> dict:
    "GPU kernel time (ms) of one fn() call, in total and by kind, from torch.profiler; and the top kernels."
    fn(); torch.cuda.synchronize(dev)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        fn(); torch.cuda.synchronize(dev)
    kinds, names = {"gemm": 0.0, "attention": 0.0, "other": 0.0}, {}
    for e in prof.events():
        if e.device_type != torch.autograd.DeviceType.CUDA: continue
        us, n = e.device_time, e.name.lower()
        kind = ("attention" if any(s in n for s in ("flash", "fmha", "attention", "attn", "sdpa"))    # first: flash kernels name cutlass
                else "gemm" if any(s in n for s in ("gemm", "cutlass", "xmma", "nvjet", "matmul", "gemv", "splitk")) else "other")
        kinds[kind] += us / 1e3
        c = names.setdefault(e.name[:110], [0, 0.0]); c[0] += 1; c[1] += us / 1e3
    top = sorted(names.items(), key=lambda kv: -kv[1][1])[:25]
    return {"gpu_ms": sum(kinds.values()), "by_kind_ms": kinds, "kernels": sum(c for c, _ in names.values()),
            "top": [{"name": k, "calls": c, "ms": ms} for k, (c, ms) in top]}


VARIANTS = {                              # name: (bridge in bf16, fuse, FP8 frozen weights, torch.compile the three bodies)
    "base": (False, False, False, False), "bridge_bf16": (True, False, False, False), "fused_bf16": (True, True, False, False),
    "fp8": (True, False, True, False), "fp8_fused": (True, True, True, False),
    "compiled": (False, False, False, True), "compiled_bf16": (True, False, False, True), "compiled_bf16_fused": (True, True, False, True)}


def write_profile(out: Path, label: str, prof: dict) -> None:
    "Append a kernel_times profile's total and top kernels to OUT/decision_profile.txt."
    with open(out / "decision_profile.txt", "a") as f:
        f.write(f"== {label}: {prof['gpu_ms']:.2f} ms of kernels, {prof['kernels']} kernels\n")
        for t in prof["top"]: f.write(f"{t['ms']:8.3f} ms {t['calls']:5d}x  {t['name']}\n")

def error_chain(e: BaseException) -> list[str]:
    "Each exception's first line, following __cause__ / __context__ back to the first error."
    out = []
    while e is not None and len(out) < 6:
        out.append(f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
        e = e.__cause__ or e.__context__
    return out

def capture(pipe, width: int, dev, b1: dict, r: dict):
    """The decision captured as one graph, or None. Capture mode 'global' first (the library's default); if that fails, the
    errors are kept and 'thread_local' is tried: a CUDA call from another thread (a compiler's worker, say) fails a global
    capture but not a thread-local one. r gets capture_mode, or capture_errors per mode."""
    for mode in ("global", "thread_local"):
        try:
            graph = DecisionGraph(pipe, 1, width, dev, capture_error_mode=mode); graph(b1); torch.cuda.synchronize(dev)
            r["capture_mode"] = mode
            return graph
        except Exception as e:                                 # noqa: BLE001 -- recorded, then the next mode
            r.setdefault("capture_errors", {})[mode] = error_chain(e)
            try: torch.cuda.synchronize(dev)
            except Exception as e2: r["capture_errors"][mode].append(f"after: {type(e2).__name__}: {str(e2)[:200]}"); return None
    return None

def main(out: Path, names: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cudnn = {"1": {"cudnn_attention": True}, "0": {"cudnn_attention": False}}.get(os.environ.get("CUDNN_ATTENTION", ""), {})
    cfg = make_config("scale-random", **cudnn); seed_everything(cfg.seed)
    pipe = build_pipeline(cfg, "cuda"); dev = pipe.primer_ids.device
    drop_layers_after(pipe.source.model, pipe.layer); pipe.bridge.eval()
    pool = synthetic_rows(pipe, prompt_lengths(4096, cfg.seed), cfg.seed)
    one = lambda bs: synthetic_batches(pipe, pool, bs, 1, bucketed=False, seed=2)[0]
    b1, check = one(1), one(64)
    singles = synthetic_batches(pipe, pool, 1, 16, bucketed=False, seed=3)      # 16 one-row decisions, padded into one graph
    width = max(b["source_ids"].shape[1] for b in [b1, *singles])
    fp8_pad = 1
    try: FP8Linear(torch.randn(32, 64, device=dev))(torch.randn(17, 64, device=dev, dtype=torch.bfloat16))
    except RuntimeError as e: fp8_pad = 16; print("FP8 GEMM needs rows in multiples of 16:", str(e)[:120], flush=True)
    before, before16 = decide_fast(pipe, check), [decide_fast(pipe, b) for b in singles]
    res = {"device": device_description(), "command": " ".join(sys.argv), "torch": torch.__version__, "cudnn_attention": cfg.cudnn_attention,
           "b1_source_tokens": int(b1["source_ids"].shape[1]), "graph_source_tokens": width, "fp8_pad_rows": fp8_pad, "variants": {}}
    fp32_bridge = {k: v.clone() for k, v in pipe.bridge.state_dict().items()}
    for name in names:
        bridge_bf16, fuse, fp8, compiled = VARIANTS[name]
        if bridge_bf16: pipe.bridge.to(torch.bfloat16)
        make = (lambda w: FP8Linear(w, fp8_pad)) if fp8 else _bf16_linear
        undo = [u for m in (pipe.source.model, pipe.target.model) for u in swap_linears(m, make, fuse)] if (fuse or fp8) else []
        if compiled: compile_for_latency(pipe, mode="default")
        torch.cuda.empty_cache()
        r = {}
        if not compiled:                                       # eager: timed and profiled call by call (a compiled body recompiles per shape)
            r["agreement_b64"] = (decide_fast(pipe, check) == before).float().mean().item()
            r["eager_b1_ms"] = time_call(lambda: decide_fast(pipe, b1), dev, 3, 20)
            prof = kernel_times(lambda: decide_fast(pipe, b1), dev)
            r.update(gpu_b1_ms=prof["gpu_ms"], gpu_by_kind_ms=prof["by_kind_ms"], kernels_b1=prof["kernels"])
            write_profile(out, f"{name} (eager)", prof)
        t0 = time.perf_counter(); graph = capture(pipe, width, dev, b1, r)
        r["capture_s"] = time.perf_counter() - t0                # compilation included for the compiled variants
        if graph is not None:                                    # else r holds the capture's errors
            r["captured_b1_ms"] = time_call(lambda: graph(b1), dev, 3, 20)
            r["agreement_16_singles"] = sum(int((graph(b) == d).all()) for b, d in zip(singles, before16)) / len(singles)
            replay = kernel_times(lambda: graph(b1), dev)
            r.update(replay_gpu_ms=replay["gpu_ms"], replay_by_kind_ms=replay["by_kind_ms"], replay_kernels=replay["kernels"])
            write_profile(out, f"{name} (captured replay)", replay)
        graph = None                                             # its buffers go before the next variant
        res["variants"][name] = r
        print(name, json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
        atomic_write_json(out / "decision_latency.json", res)
        if compiled: uncompiled(pipe); torch._dynamo.reset()
        restore(undo)
        if bridge_bf16: pipe.bridge.float(); pipe.bridge.load_state_dict(fp32_bridge)
    res["complete"] = True; atomic_write_json(out / "decision_latency.json", res)


if __name__ == "__main__":
    args = sys.argv[1:]
    unknown = [a for a in args[1:] if a not in VARIANTS]
    if not args or unknown: sys.exit(f"usage: check_decision_latency.py OUT_DIR [VARIANT ...]; variants: {', '.join(VARIANTS)}"
                                     + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    main(Path(args[0]), args[1:] or [v for v, (*_, compiled) in VARIANTS.items() if not compiled])
