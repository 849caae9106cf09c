# On one GPU: the training loop itself (not the bench) at micro-batch 32 from the state cache, with the
# target compiled, without and with compile_bridge. Usage: bash scripts/gpu_loop_speed.sh OUTDIR [STEPS]
set -u
source scripts/gpu_setup.sh >/dev/null || exit 1
export TELEPATHY_RUNS_DIR=$PWD/papermill_runs
out=${1:-/tmp/out}; steps=${2:-200}
for cb in false true; do
  t0=$(date +%s)
  python3 -c "from telepathy_nb.cli import main; raise SystemExit(main(['run','train_bridge','-p','preset=scale-random','-p','steps=$steps','-p','batch_size=32','-p','grad_accum=1','-p','compile_target=true','-p','compile_bridge=$cb','-p','state_cache=/tmp/states','-p','train_size=4096','-p','quick_eval_every=0','-p','eval_size=32','-p','checkpoint_every=0','-p','log_every=25','--name','cb$cb']))" > $out/loop_cb$cb.log 2>&1
  echo "compile_bridge=$cb rc=$? wall=$(( $(date +%s) - t0 ))s"
  d=$(ls -d papermill_runs/train_bridge/*_cb$cb | tail -1); cp $d/metrics.jsonl $out/loop_cb$cb.metrics.jsonl
  python3 -c "
import json; m=[json.loads(l) for l in open('$d/metrics.jsonl')]; t=[r for r in m if r['kind']=='train']
print(' samples/s per log line:', [round(r['samples_per_s'], 1) for r in t], ' lm_loss:', [round(r['lm_loss'], 3) for r in t][-3:])"
  grep -i -E "error|Traceback" $out/loop_cb$cb.log | head -5
done
