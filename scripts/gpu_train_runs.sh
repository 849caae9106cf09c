# On a 2-GPU machine: the seed-exp001-shaped run (scale-random weights) through papermill on one
# GPU, then on two (data parallel via accelerate's notebook_launcher). Usage: bash scripts/gpu_train_runs.sh STEPS OUTDIR
set -u
source scripts/gpu_setup.sh >/dev/null || exit 1
export TELEPATHY_RUNS_DIR=$PWD/papermill_runs
steps=${1:-200}; out=${2:-/tmp/out}
for n in 1 2; do
  t0=$(date +%s)
  python3 -c "from telepathy_nb.cli import main; raise SystemExit(main(['run','train_bridge','-p','preset=scale-random','-p','steps=$steps','-p','num_processes=$n','-p','eval_size=128','-p','checkpoint_every=0','--name','gpu$n']))" > $out/gpu$n.log 2>&1
  echo "gpu$n rc=$? wall=$(( $(date +%s) - t0 ))s"
  d=$(ls -d papermill_runs/train_bridge/*_gpu$n | tail -1)
  cp $d/metrics.jsonl $out/gpu${n}_metrics.jsonl; cp $d/summary.json $out/gpu${n}_summary.json
  python3 -c "
import json; s=json.load(open('$d/summary.json')); print({k: s.get(k) for k in ('status','error','duration_s','accuracy','device')})
m=[json.loads(l) for l in open('$d/metrics.jsonl')]; t=[r for r in m if r['kind']=='train']
print('lm_loss', [round(r['lm_loss'],3) for r in t][::2]); print('samples/s', [round(r['samples_per_s'],1) for r in t][2::2])"
done
