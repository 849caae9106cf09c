"""Write results/speed_*.json (the README's speed tables) from the raw GPU outputs kept in experiments/raw/20261127-gpu*/.
Each JSON names the command that measured it, the commit of the code that ran, and the machine.
Usage: python experiments/speed_results.py   (then `telepathy results` fills the README)."""
import ast, json
from pathlib import Path
from telepathy_nb.core import atomic_write_json, read_json
from telepathy_nb.report import loop_speed_result, add_repeats

RAW, OUT = Path("experiments/raw/20261127-gpu"), Path("results")

def bench(name: str, raw: str, command: str, commit: str, wall_s: float | None = None) -> None:
    res = read_json(RAW / raw)
    atomic_write_json(OUT / f"{name}.json", {"kind": "bench", "command": command, "commit": commit, "machine": res["device"], "wall_s": wall_s, **res})

def loops(name: str, runs: dict, command: str, commit: str, machine: str, skip_lines: int) -> None:
    atomic_write_json(OUT / f"{name}.json", loop_speed_result({k: RAW / v for k, v in runs.items()}, command, commit, machine, skip_lines))

bench("speed_bench_default_h100", "bench-default-h100.json", "telepathy bench", "cddb69d", wall_s=70)
bench("speed_bench_compiled_h100", "bench-compiled-h100.json", "telepathy bench --compile --micro-batches 32,64 --latency-graphs",
      "cddb69d")
loops("speed_loop_h100", {"before (782e182): three waits per step, monitors every step": "loop-782e182-h100.metrics.jsonl",
                          "after (cddb69d): one wait per step, monitors on logged steps": "loop-cddb69d-h100.metrics.jsonl"},
      "bash experiments/gpu/gpu_loop_speed.sh OUT 200 .gpusnap .  (.gpusnap: git archive of 782e182)", "782e182 / cddb69d",
      "1x NVIDIA H100 80GB HBM3", skip_lines=1)
loops("speed_scaling_h200", {"1 GPU": "scaling-1_fp32-2xh200.metrics.jsonl", "2 GPUs, fp32 all-reduce": "scaling-2_fp32-2xh200.metrics.jsonl",
                             "2 GPUs, bf16 all-reduce": "scaling-2_bf16-2xh200.metrics.jsonl"},
      "bash experiments/gpu/gpu_scaling.sh OUT 300", "5eebdb6", "2x NVIDIA H200", skip_lines=2)
loops("speed_reference_experiment", {"2,000 steps x 64, cold (2026-11-27)": "reference-experiment-cold-2xh200.metrics.jsonl"},
      "bash experiments/gpu/gpu_reference_experiment.sh OUT 2000", "5eebdb6", "2x NVIDIA H200", skip_lines=1)
loops("speed_reference_experiment_before", {
          "cold (2026-11-26)": "../20261126-2xh100/reference-experiment-cold.metrics.jsonl",
          "warm caches (2026-11-26)": "../20261126-2xh100/reference-experiment-warm.metrics.jsonl"},
      "bash experiments/gpu/gpu_reference_experiment.sh OUT 2000", "ae2a246 (+ uncommitted edits, as its summary.json says)", "2x NVIDIA H100 80GB HBM3", skip_lines=1)

# Second round (2026-11-27, evening): the host prepares step s+1 while the GPU runs step s (commit b6ca615; the calls ran 393b26a's tree).
RAW2 = "../20261127-gpu2/"
bench("speed_bench_compiled_h200", RAW2 + "bench-compiled-h200.json", "telepathy bench --compile --micro-batches 32,64 --latency-graphs",
      "393b26a", wall_s=373)
embedded = loop_speed_result({"cache + compiled target": RAW / (RAW2 + "cache_compiled.metrics.jsonl"),
                              "cache + compiled target, CUDA graphs (compile_mode=reduce-overhead)": RAW / (RAW2 + "cache_graphs.metrics.jsonl")},
                             "bash experiments/gpu/gpu_embedded_loop_speed.sh OUT cache_compiled cache_graphs demo_fast", "393b26a", "1x NVIDIA H200",
                             skip_lines=2)
embedded["loop_s_only"] = {"eager, the preset as the demo runs it (quick evals, checkpoints)": 59.412, "eager, steps only": 47.388,
                           "eager, steps only, cache": 39.137}   # experiments/raw/20261127-gpu2/embedded-loop-first-call.txt (b6ca615)
embedded["loop_s_only_source"] = "experiments/raw/20261127-gpu2/embedded-loop-first-call.txt"
atomic_write_json(OUT / "speed_embedded_loop_h200.json", embedded)

# Third round (2026-11-27, night): the H100 again with the prefetch, no latency graphs; the working tree of commit 0e52198
# (the machine's git copy named a3168e9, stale; no bench code changed between the two).
bench("speed_bench_compiled_h100_prefetch", "../20261127-gpu3/bench-compiled-h100.json", "telepathy bench --compile --micro-batches 32,64",
      "0e52198", wall_s=366)

# Fourth round (2026-11-28): the embedded pair's loop on 1x H100, each compiled variant cold and then again with inductor's
# on-disk caches warm (experiments/gpu/gpu_embedded_loop_speed.sh's "<variant>_warm"), then the cold graphs run on a second H100
# machine. Both calls ran the package of 17cc6d9 with the scripts of 3006959 (the machine's git copy named 17cc6d9).
RAW4 = "../20261128-gpu/"
warm = loop_speed_result({
    "graphs, cold (inductor caches empty)": RAW / (RAW4 + "cache_graphs.metrics.jsonl"),
    "graphs, warm (the same again: inductor caches filled)": RAW / (RAW4 + "cache_graphs_warm.metrics.jsonl"),
    "graphs + compiled bridge (target's caches warm, bridge's cold)": RAW / (RAW4 + "cache_graphs_bridge.metrics.jsonl"),
    "graphs + compiled bridge, warm": RAW / (RAW4 + "cache_graphs_bridge_warm.metrics.jsonl"),
    "graphs, cold, a second H100 machine": RAW / (RAW4 + "cache_graphs-b.metrics.jsonl")},
    "bash experiments/gpu/gpu_embedded_loop_speed.sh OUT cache_graphs cache_graphs_warm cache_graphs_bridge cache_graphs_bridge_warm",
    "3006959", "1x NVIDIA H100 80GB HBM3", skip_lines=2)
atomic_write_json(OUT / "speed_embedded_loop_h100_warm.json", warm)

# Fifth round (2026-11-28, session 26): whole-step CUDA graphs (`-p step_graphs=true`, 09a_graphs) on 1x H100, three calls
# on two machines, the working tree of commit 021f713 (the first two calls before status.json recorded first_step_seconds).
RAW5 = "../20261128-gpu2/"
bench("speed_bench_latency_captured_h100", RAW5 + "bench-latency-graphs-h100.json", "telepathy bench --latency-graphs", "021f713",
      wall_s=215)
steps = loop_speed_result({
    "eager, from the cache (the plain step)": RAW / (RAW5 + "cache.metrics.jsonl"),
    "step graphs, from the cache": RAW / (RAW5 + "cache_step_graphs.metrics.jsonl"),
    "step graphs, repeat 1 (a second machine: builds its cache)": RAW / (RAW5 + "cache_step_graphs_r1.metrics.jsonl"),
    "step graphs, repeat 2 (the second machine)": RAW / (RAW5 + "cache_step_graphs_r2.metrics.jsonl"),
    "step graphs, repeat 3 (the second machine)": RAW / (RAW5 + "cache_step_graphs_r3.metrics.jsonl"),
    "eager, the demo's quick evals and checkpoints, from the cache": RAW / (RAW5 + "demo_cache.metrics.jsonl"),
    "step graphs, the demo's quick evals and checkpoints": RAW / (RAW5 + "demo_step_graphs.metrics.jsonl")},
    "bash experiments/gpu/gpu_embedded_loop_speed.sh OUT cache_step_graphs cache; ... demo_step_graphs demo_cache; "
    "... cache_step_graphs_r1 cache_step_graphs_r2 cache_step_graphs_r3", "021f713", "1x NVIDIA H100 80GB HBM3", skip_lines=1)
for line in open(RAW / RAW5 / "embedded_loop.txt"):          # the repeats' first steps, as the script printed them
    name, fields = line.split(":", 1)[0], dict(f.split("=", 1) for f in line.split()[1:])
    if fields.get("first_step_s"):
        run = next(k for k in steps["runs"] if k.startswith(f"step graphs, repeat {name[-1]} "))
        steps["runs"][run]["first_step_s"] = float(fields["first_step_s"])
steps["first_step_s_source"] = "experiments/raw/20261128-gpu2/embedded_loop.txt (printed from each run's status.json)"
steps["first_steps"] = {v: read_json(RAW / RAW5 / f"first_steps_{v}.json") for v in ("plain", "step_graphs")}
atomic_write_json(OUT / "speed_embedded_loop_step_graphs_h100.json", steps)

# Sixth round (2026-11-28, session 27): the embedded pair's first steps, with and without cuDNN's fused attention, 1x H100.
# Machine A ran the package of 64853b3 (torch's default: cuDNN attention on); machine B that of 7c22487, where
# `cudnn_attention` is off by default. Ratios are only meaningful within one JSON (one machine).
RAW6 = "../20261128-gpu3/"
GRAPHS = {"step graphs, 2 warm-up steps": "cache_step_graphs", "step graphs, 1 warm-up step (-p graph_warmup=1)": "cache_step_graphs_w1",
          "step graphs, the demo's quick evals and checkpoints": "demo_step_graphs"}

def attention_round(name: str, prefix: str, runs: dict, command: str, commit: str, machine: str, first_steps: dict) -> None:
    "results/NAME.json from the runs `prefix-<file>` of one machine, with the first-steps checks made there."
    res = loop_speed_result({label: RAW / f"{RAW6}{prefix}-{f}.metrics.jsonl" for label, f in runs.items()}, command, commit, machine, skip_lines=1)
    res["first_steps"] = {label: read_json(RAW / RAW6 / f) for label, f in first_steps.items()}
    atomic_write_json(OUT / f"{name}.json", res)

attention_round("speed_embedded_loop_cudnn_h100", "cudnn", GRAPHS,
                "bash experiments/gpu/gpu_embedded_loop_speed.sh OUT cache_step_graphs_w1 cache_step_graphs demo_step_graphs", "64853b3",
                "1x NVIDIA H100 80GB HBM3 (machine A)", {"plain, profiled": "first_steps_plain_cudnn_profile.json"})
attention_round("speed_embedded_loop_nocudnn_h100", "nocudnn", {"eager, from the cache (the plain step)": "cache", **GRAPHS},
                "bash experiments/gpu/gpu_embedded_loop_speed.sh OUT cache_step_graphs_w1 cache_step_graphs cache; ... demo_step_graphs", "7c22487",
                "1x NVIDIA H100 80GB HBM3 (machine B)", {"plain": "first_steps_plain_nocudnn.json"})

# The batch-1 decision's GPU time, profiled (experiments/checks/check_decision_latency.py), and FP8 for the frozen models on the
# embedded pair (experiments/checks/check_fp8_accuracy.py): collected into results/checks/ with the machine and the code that ran.
runs = {"a": ("machine A, cuDNN attention on (torch's default); the script's first version (no compiled variants, no replay "
              "profile; its kernel split counted no flash kernels, none ran)", "64853b3"),
        "b": ("machine B, cuDNN attention off; PyTorch's attention kernels are counted under gemm here (their names say cutlass): "
              "flash_fwd 0.45 ms eager, fmha_cutlassF 0.34 ms in the replay", "7c22487"),
        "c-nocudnn": ("machine B, cuDNN attention off; attention under gemm as in b", "7c22487"),
        "c-cudnn": ("machine B, cuDNN attention on (CUDNN_ATTENTION=1)", "7c22487")}
atomic_write_json(OUT / "checks" / "decision_latency_h100.json", {
    "check": "a batch-1 decision at real scale (scale-random) on 1x H100: kernel time by kind, eager and captured as one graph; "
             "levers: bf16 bridge, fused projections, FP8 weights for the frozen models",
    "command": "python experiments/checks/check_decision_latency.py OUT [VARIANT ...]", "machine": "1x NVIDIA H100 80GB HBM3",
    "runs": {k: {"what": what, "commit": commit, **read_json(RAW / RAW6 / f"decision-latency-h100-{k}.json")}
             for k, (what, commit) in runs.items()}})
atomic_write_json(OUT / "checks" / "fp8_accuracy_embedded_h100.json",
                  {"commit": "7c22487", "machine": "1x NVIDIA H100 80GB HBM3 (machine B)",
                   "bridge": "the demo_step_graphs run of the same machine (step graphs, no cuDNN attention, bf16 models)",
                   **read_json(RAW / RAW6 / "fp8_accuracy_embedded_h100.json")})

# Seventh round (2026-11-28, session 28): one GPU against two at micro-batch 32 per GPU, three runs each, then DDP's knobs
# (gradients as bucket views, 100 MB buckets, the bf16 hook with both), on one 2x H200 machine in three calls
# (bash experiments/gpu/gpu_scaling.sh OUT 300 VARIANT ...). The package of 6eb208d with ddp_bucket_mb / ddp_grad_views added.
RAW7 = "../20261128-gpu4/"
ONE, TWO = ("1_fp32", "1_fp32_r2", "1_fp32_r3"), ("2_fp32", "2_fp32_r2", "2_fp32_r3")
knobs = {"2 GPUs, gradients as bucket views (-p ddp_grad_views=true)": "2_views",
         "2 GPUs, bf16 all-reduce + bucket views + 100 MB buckets": "2_bf16views"}
runs = {**{f"1 GPU, run {i + 1}": v for i, v in enumerate(ONE)}, **{f"2 GPUs, run {i + 1}": v for i, v in enumerate(TWO)}, **knobs}
scaling = loop_speed_result({k: RAW / f"{RAW7}scaling_{v}.metrics.jsonl" for k, v in runs.items()},
                            "bash experiments/gpu/gpu_scaling.sh OUT 300 1:fp32 2:fp32 2:views:ddp_grad_views=true ...; "
                            "... 1:fp32_r2 2:fp32_r2 1:fp32_r3 2:fp32_r3; ... 2:bf16views:grad_allreduce=bf16,ddp_grad_views=true,ddp_bucket_mb=100",
                            "6eb208d (+ ddp_bucket_mb, ddp_grad_views)", "2x NVIDIA H200", skip_lines=2)
add_repeats(scaling, {"1 GPU": [f"1 GPU, run {i}" for i in (1, 2, 3)],
                      "2 GPUs (DDP's defaults: 25 MB buckets, fp32)": [f"2 GPUs, run {i}" for i in (1, 2, 3)],
                      **{k: [k] for k in knobs}})
scaling["printed_only"] = {"2 GPUs, bucket views + 100 MB buckets (-p ddp_bucket_mb=100)": {
    "median": 774.15, "source": "experiments/raw/20261128-gpu4/scaling.txt (its metrics file did not come back: 8 files a call)"}}
atomic_write_json(OUT / "speed_scaling_repeats_h200.json", scaling)

# Eighth round (2026-11-28, session 29): the bridge in bf16 (`-p bridge_precision=bf16`, the reference's own precision: no
# fp32 master weights, half the gradient bytes to all-reduce), one GPU against two, three runs each, on one 2x H200
# machine in two calls; then the reference experiment with it, once on that machine (inductor's caches warm from the
# scaling runs, the state cache built in the run) and once cold on a fresh 2x H200 machine. The package of 0e3a61b.
RAW8 = "../20261128-gpu5/"
BF16 = {"1 GPU, bf16 bridge": ("1_bf16b", "1_bf16b_r2", "1_bf16b_r3"), "2 GPUs, bf16 bridge": ("2_bf16b", "2_bf16b_r2", "2_bf16b_r3")}
runs = {f"{group}, run {i + 1}": v for group, files in BF16.items() for i, v in enumerate(files)}
runs["1 GPU, fp32 bridge (the default), one run"] = "1_fp32"
bf16 = loop_speed_result({k: RAW / f"{RAW8}scaling_{v}.metrics.jsonl" for k, v in runs.items()},
                         "bash experiments/gpu/gpu_scaling.sh OUT 300 1:fp32 1:bf16b:bridge_precision=bf16 2:bf16b:bridge_precision=bf16; "
                         "... 2:bf16b_r2:bridge_precision=bf16 1:bf16b_r2:... 2:bf16b_r3:... 1:bf16b_r3:...",
                         "0e3a61b", "2x NVIDIA H200", skip_lines=2)
add_repeats(bf16, {**{g: [f"{g}, run {i}" for i in (1, 2, 3)] for g in BF16},
                   "1 GPU, fp32 bridge (one run)": ["1 GPU, fp32 bridge (the default), one run"]})
atomic_write_json(OUT / "speed_scaling_bf16_bridge_h200.json", bf16)
loops("speed_reference_experiment_bf16_h200", {
          "bf16 bridge, cold (a fresh machine: inductor's caches empty, state cache built)": RAW8 + "ref-bf16-cold.metrics.jsonl",
          "bf16 bridge, inductor's caches warm (state cache built)": RAW8 + "ref-bf16-warm-inductor.metrics.jsonl"},
      'REF_EXTRA="-p bridge_precision=bf16" bash experiments/gpu/gpu_reference_experiment.sh OUT 2000', "0e3a61b", "2x NVIDIA H200", skip_lines=1)

# Ninth round (2026-11-28, session 30): where a cold start of the reference experiment goes, and the batch-1 decision
# compiled and captured whole. Two 2x H200 machines (A: commit c0fa4f2's tree, B: fc14ceb's), each run cold (COLD=1: state
# cache deleted, inductor's and Triton's caches in fresh folders); then two 1x H200 machines for the decision.
RAW9 = RAW / "../20261128-gpu6/"
COLD_RUNS = {"A: target compiled layer by layer (-p compile_scope=layers), 64-row cache batches": "ref-layers-cold",
             "A: target compiled whole (the default), 64-row cache batches, 300 steps": "ref-body-cold-300",
             "B: target compiled whole, cache batches of up to 16,384 tokens (BUILD_BATCH_TOKENS)": "ref-body-cold-tokcache"}

def startup(stem: str) -> dict:
    """Where a run's start went, from its status.json and the lines gpu_reference_experiment.sh printed: seconds from the
    command's start to each stage (the script's print; `train.MARKS` since fc14ceb, setup and last step before), the
    setup phases, the first step, and the state cache's build and checksum seconds (its meta.json, printed)."""
    status, text = read_json(RAW9 / f"{stem}.status.json"), (RAW9 / f"{stem}.txt").read_text().splitlines()
    line = lambda start: next(l for l in text if l.startswith(start))
    if "marks" in status: since = ast.literal_eval(line("seconds from the command's start:").split(":", 1)[1].strip().split("   #")[0])
    else:
        words = line("from the command's start (s):").split()
        since = {"setup": float(words[words.index("setup") + 1]), "last_step": float(words[-1])}
    cache = ast.literal_eval(line("state cache train:").split(":", 1)[1].strip())
    return {"seconds_from_command": since, "phase_seconds": status["phase_seconds"], "first_step_s": status["first_step_seconds"],
            "loop_s": status["loop_seconds"], "cache_build_s": cache["build_seconds"], "cache_checksum_s": cache["checksum_seconds"],
            "cache_bytes": cache["bytes"]}

def training(stem: str) -> dict:
    "What the run learned (random weights: a check that a speed change leaves training alone, not an accuracy)."
    lines = [json.loads(l) for l in open(RAW9 / f"{stem}.metrics.jsonl")]
    late = [r["lm_loss"] for r in lines if r["kind"] == "train" and r["step"] > 1000]
    return {"lm_loss_mean_steps_1001_on": sum(late) / len(late) if late else None,
            "quick_eval_acc": [r["quick_eval_acc"] for r in lines if r["kind"] == "quick_eval"],
            "final_accuracy": read_json(RAW9 / f"{stem}.summary.json").get("accuracy")}

cold = loop_speed_result({k: RAW9 / f"{v}.metrics.jsonl" for k, v in COLD_RUNS.items()},
                         'COLD=1 REF_EXTRA="-p bridge_precision=bf16 [-p compile_scope=layers]" bash experiments/gpu/gpu_reference_experiment.sh OUT 2000|300',
                         "c0fa4f2 (A) / fc14ceb (B)", "2x NVIDIA H200 (two machines, A and B)", skip_lines=1)
cold["startup"] = {k: startup(v) for k, v in COLD_RUNS.items()}
cold["training"] = {k: training(v) for k, v in COLD_RUNS.items()}
atomic_write_json(OUT / "speed_reference_experiment_cold_h200.json", cold)
atomic_write_json(OUT / "checks" / "cache_build_h200.json", {**read_json(RAW9 / "cache_build_h200.json"), "machine": "1x NVIDIA H200 (GPU 0 of machine B)"})
atomic_write_json(OUT / "checks" / "decision_latency_h200.json", {
    "check": "a batch-1 decision at real scale (scale-random) on 1x H200: eager, captured as one graph, and compiled (inductor, "
             "no CUDA graphs of its own) then captured whole as one graph",
    "command": "python experiments/checks/check_decision_latency.py OUT [VARIANT ...]", "machine": "1x NVIDIA H200",
    "runs": {"base": {"what": "the eager decision; the same call's compiled_bf16 could not be captured (its error chain: the "
                              "body recompiled inside the capture, since fixed by scoring.mask_kept)", "commit": "f7f7e93",
                      **read_json(RAW9 / "decision_latency_base_h200.json")},
             "compiled": {"what": "another 1x H200 machine, after the fix", "commit": "bf4dce7",
                          **read_json(RAW9 / "decision_latency_compiled_h200.json")}}})
