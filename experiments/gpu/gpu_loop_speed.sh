# On one GPU: the training loop itself (not the bench) at micro-batch 32 from the state cache, the target compiled,
# over 4,096 training rows (an epoch is 128 steps, so STEPS > 128 crosses an epoch boundary), in each source tree given
# (default: this one; e.g. `.gpusnap .` compares a `git archive` of an older commit with the working tree, same call).
# Usage: bash experiments/gpu/gpu_loop_speed.sh OUTDIR [STEPS] [TREE ...]   (extra -p settings: LOOP_EXTRA="-p compile_bridge=true")
set -u
out=${1:-/tmp/out}; steps=${2:-200}; shift $(( $# > 2 ? 2 : $# )); trees=("${@:-.}")
root=$PWD
for tree in "${trees[@]}"; do
  cd "$root/$tree" || exit 1
  source experiments/gpu/gpu_setup.sh >/dev/null || exit 1
  export TELEPATHY_RUNS_DIR=$PWD/papermill_runs
  tag=$(echo "$tree" | tr -c 'a-zA-Z0-9\n' '_'); t0=$(date +%s)
  python3 -c "import sys; from telepathy_nb.cli import main; raise SystemExit(main(['run','train_bridge','-p','preset=scale-random','-p','steps=$steps','-p','batch_size=32','-p','grad_accum=1','-p','compile_target=true','-p','state_cache=/tmp/states','-p','train_size=4096','-p','quick_eval_every=0','-p','eval_size=32','-p','checkpoint_every=0','-p','log_every=10', *sys.argv[1:], '--name','loop$tag']))" ${LOOP_EXTRA:-} > $out/loop_$tag.log 2>&1
  echo "tree $tree: rc=$? wall=$(( $(date +%s) - t0 ))s"
  d=$(ls -d papermill_runs/train_bridge/*_loop$tag | tail -1); cp $d/metrics.jsonl $out/loop_$tag.metrics.jsonl
  python3 - "$d" <<'PY'
import json, statistics, sys
t = [json.loads(l) for l in open(f"{sys.argv[1]}/metrics.jsonl")]; t = [r for r in t if r["kind"] == "train"]
rate = [round(r["samples_per_s"], 1) for r in t]
print("  samples/s per 10 steps:", rate)
print("  median steps 20-120:", statistics.median(rate[2:12]), " median after step 140:", statistics.median(rate[14:]) if len(rate) > 14 else None,
      " seconds from the first line to the last:", round(t[-1]["elapsed_s"] - t[0]["elapsed_s"], 1), " lm_loss:", [round(r["lm_loss"], 3) for r in t][-3:])
PY
  grep -i -E "error|Traceback" $out/loop_$tag.log | head -5
done
