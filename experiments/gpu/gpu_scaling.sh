# On a 2-GPU machine: the training loop at micro-batch 32 per GPU from the state cache (target compiled), on one GPU
# and on two, the same rows and steps; prints samples/s per log line and the median after the first 50 steps
# (compilation). Usage: bash experiments/gpu/gpu_scaling.sh OUTDIR [STEPS] [VARIANT ...]
# A variant is GPUS:NAME[:key=value,key=value...] (RunConfig settings); the default variants are
# 1:fp32  2:fp32  2:bf16:grad_allreduce=bf16  (DDP's defaults otherwise: 25 MB buckets, gradients copied in and out).
# Each variant's log and metrics land in OUTDIR as scaling_<GPUS>_<NAME>.*
set -u
source experiments/gpu/gpu_setup.sh >/dev/null || exit 1
export TELEPATHY_RUNS_DIR=$PWD/papermill_runs
out=${1:-/tmp/out}; steps=${2:-300}; shift 2 2>/dev/null
variants=("$@"); [ ${#variants[@]} -eq 0 ] && variants=(1:fp32 2:fp32 2:bf16:grad_allreduce=bf16)
for v in "${variants[@]}"; do
  IFS=: read -r gpus name settings <<< "$v"
  extra=""; for kv in ${settings//,/ }; do extra="$extra,'-p','$kv'"; done
  t0=$(date +%s)
  python3 -c "from telepathy_nb.cli import main; raise SystemExit(main(['run','train_bridge','-p','preset=scale-random','-p','steps=$steps','-p','batch_size=32','-p','grad_accum=1','-p','num_processes=$gpus','-p','compile_target=true','-p','state_cache=/tmp/states_scaling','-p','train_size=16384','-p','quick_eval_every=0','-p','eval_size=64','-p','checkpoint_every=0','-p','log_every=25'$extra,'--name','gpus${gpus}_$name']))" > $out/scaling_${gpus}_$name.log 2>&1
  echo "gpus=$gpus $name ($settings): rc=$? wall=$(( $(date +%s) - t0 ))s"
  d=$(ls -d papermill_runs/train_bridge/*_gpus${gpus}_$name | tail -1); cp $d/metrics.jsonl $out/scaling_${gpus}_$name.metrics.jsonl
  python3 - "$d" <<'PY'
import json, statistics, sys
t = [json.loads(l) for l in open(f"{sys.argv[1]}/metrics.jsonl")]; t = [r for r in t if r["kind"] == "train"]
rate = [round(r["samples_per_s"], 1) for r in t]
print("  samples/s per 25 steps:", rate, " median after step 50:", statistics.median(rate[2:]), " lm_loss:", [round(r["lm_loss"], 3) for r in t][-3:])
PY
  grep -i -E "error|Traceback" $out/scaling_${gpus}_$name.log | head -5
done
