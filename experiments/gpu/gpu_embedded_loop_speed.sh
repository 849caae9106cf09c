# The embedded pair's training loop on one GPU (issue 16, goal 6: 200 steps in <= 10 s of loop), one run per variant,
# each through `telepathy run train_bridge` on the preset `embedded`; the loop's seconds come from status.json
# (`loop_seconds`: first step to last, compilation, quick evals and checkpoints included).
# Needs a warm machine set up by gpu_embedded_setup.sh (the GGUF pieces in /tmp/mc).
# Usage: bash experiments/gpu/gpu_embedded_loop_speed.sh OUTDIR [VARIANT ...]   (default: all below, in this order)
# Writes OUTDIR/embedded_loop.tar.gz: NAME.metrics.jsonl and NAME.summary.json per variant, and the log.
set -u
source experiments/gpu/gpu_embedded_setup.sh || exit 1
out=${1:-/tmp/out}; shift
declare -A extra=(
  [demo]=""                                                   # the preset as the demo runs it: quick evals every 50 steps, 2 checkpoints
  [steps]="-p quick_eval_every=0 -p checkpoint_every=0"       # the steps alone (one checkpoint at the end)
  [cache]="-p quick_eval_every=0 -p checkpoint_every=0 -p state_cache=/tmp/estates"
  [cache_compiled]="-p quick_eval_every=0 -p checkpoint_every=0 -p state_cache=/tmp/estates -p compile_target=true"
  [cache_compiled_bridge]="-p quick_eval_every=0 -p checkpoint_every=0 -p state_cache=/tmp/estates -p compile_target=true -p compile_bridge=true"
  [cache_graphs]="-p quick_eval_every=0 -p checkpoint_every=0 -p state_cache=/tmp/estates -p compile_target=true -p compile_mode=reduce-overhead"
  [demo_fast]="-p state_cache=/tmp/estates -p compile_target=true -p compile_mode=reduce-overhead"
  [cache_graphs_layers]="-p quick_eval_every=0 -p checkpoint_every=0 -p state_cache=/tmp/estates -p compile_target=true -p compile_mode=reduce-overhead -p compile_scope=layers"
  [cache_step_graphs]="-p quick_eval_every=0 -p checkpoint_every=0 -p state_cache=/tmp/estates -p step_graphs=true"   # the eager step captured whole (09a_graphs)
  [cache_step_graphs_w1]="-p quick_eval_every=0 -p checkpoint_every=0 -p state_cache=/tmp/estates -p step_graphs=true -p graph_warmup=1"   # one warm-up step before the capture
  [demo_cache]="-p state_cache=/tmp/estates"                  # the demo's quick evals and checkpoints, from the cache: the plain curve
  [demo_step_graphs]="-p state_cache=/tmp/estates -p step_graphs=true"   # the same with the step as one graph: the curve to compare
  [cache_graphs_bridge]="-p quick_eval_every=0 -p checkpoint_every=0 -p state_cache=/tmp/estates -p compile_target=true -p compile_mode=reduce-overhead -p compile_bridge=true"
)
# "<variant>_rN" (N a digit) runs <variant> again under its own name: a repeat.
# "<variant>_warm" runs <variant> again after it: inductor's on-disk caches (FX graphs, AOT autograd) are then warm, as they
# are for every run on a machine after its first: compilation reads generated code from them instead of generating it.
export TORCHINDUCTOR_FX_GRAPH_CACHE=1 TORCHINDUCTOR_AUTOGRAD_CACHE=1
variants=("$@"); [ ${#variants[@]} -gt 0 ] || variants=(demo steps cache cache_compiled cache_compiled_bridge cache_graphs demo_fast)
base() { local b=${1%_warm}; echo "${b%_r[0-9]}"; }
for v in "${variants[@]}"; do   # a misspelt variant must not run the demo's settings under its name
  [ -n "${extra[$(base "$v")]+set}" ] || { echo "unknown variant '$v'; known: ${!extra[*]} (each also as <name>_warm or <name>_rN)" >&2; exit 2; }
done
work=$(mktemp -d); export TELEPATHY_RUNS_DIR=$work/runs
for v in "${variants[@]}"; do
  t0=$(date +%s)
  python3 -c "import sys; from telepathy_nb.cli import main; raise SystemExit(main(sys.argv[1:]))" run train_bridge \
    -p preset=embedded -p device=cuda -p eval_size=64 -p generation_eval=false -p zero_shot_baseline=false ${extra[$(base "$v")]} \
    --name "$v" > "$work/$v.log" 2>&1
  rc=$?; d=$(ls -d "$work"/runs/train_bridge/*_"$v" | tail -1)
  cp "$d/metrics.jsonl" "$work/$v.metrics.jsonl"; cp "$d/summary.json" "$work/$v.summary.json" 2>/dev/null
  python3 - "$d" "$v" "$rc" "$(( $(date +%s) - t0 ))" <<'PY'
import json, sys
d, v, rc, wall = sys.argv[1:]
st, sm = (json.load(open(f"{d}/{f}")) for f in ("status.json", "summary.json"))
print(f"{v}: rc={rc} wall={wall}s status={sm['status']} loop_s={st.get('loop_seconds')} first_step_s={st.get('first_step_seconds')} "
      f"accuracy={sm.get('accuracy')}", flush=True)
PY
  grep -E "Error|Traceback" "$work/$v.log" | head -3
  tar -czf "$out/embedded_loop.tar.gz" -C "$work" $(cd "$work" && ls *.metrics.jsonl *.summary.json *.log 2>/dev/null)   # after every variant: a stopped call keeps what ran
done 2>&1 | tee "$work/embedded_loop.log"
