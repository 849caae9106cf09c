# On a 2-GPU machine: the reference experiment's shape -- 2,000 optimizer steps at effective batch 64
# (micro-batch 32 x 2 GPUs, no accumulation: the same update as the reference's 16 x 2 x 2) -- with
# scale-random Llama-3.1-8B -> Mistral-7B weights, the target compiled, and source states from the cache
# (built in the same run). Usage: bash experiments/gpu/gpu_reference_experiment.sh OUTDIR [STEPS]
# (extra -p settings: REF_EXTRA="-p grad_allreduce=bf16"; COLD=1: a cold start on a warm machine -- the state cache
# deleted first, inductor's and Triton's caches in fresh folders)
set -u
source experiments/gpu/gpu_setup.sh >/dev/null || exit 1
export TELEPATHY_RUNS_DIR=$PWD/papermill_runs
out=${1:-/tmp/out}; steps=${2:-2000}; states=/tmp/states
mkdir -p $out
if [ "${COLD:-0}" = 1 ]; then
  rm -rf $states; export TORCHINDUCTOR_CACHE_DIR=$(mktemp -d /tmp/inductor.XXXX); export TRITON_CACHE_DIR=$TORCHINDUCTOR_CACHE_DIR/triton
fi
(while sleep 10; do d=$(ls -d papermill_runs/train_bridge/*_ref 2>/dev/null | tail -1); [ -n "$d" ] && cp $d/metrics.jsonl $out/ 2>/dev/null; done) >/dev/null 2>&1 &
watcher=$!
t0=$(date +%s.%N)
python3 -c "import sys; from telepathy_nb.cli import main; raise SystemExit(main(['run','train_bridge','-p','preset=scale-random','-p','steps=$steps','-p','batch_size=32','-p','grad_accum=1','-p','num_processes=2','-p','compile_target=true','-p','state_cache=$states','-p','quick_eval_every=200','-p','quick_eval_size=256','-p','eval_size=512','-p','checkpoint_every=0','-p','log_every=50', *sys.argv[1:], '--name','ref']))" ${REF_EXTRA:-} > $out/run.log 2>&1
echo "run rc=$? wall=$(python3 -c "import time; print(round(time.time() - $t0))")s"
kill $watcher 2>/dev/null   # (not %1: no job control in a script, and a live watcher holds the caller's pipe open)
d=$(ls -d papermill_runs/train_bridge/*_ref | tail -1)
python3 - "$d" "$t0" "$states" <<'PY'
import json, sys
d, t0, states = sys.argv[1], float(sys.argv[2]), sys.argv[3]; s = json.load(open(f"{d}/summary.json"))
st = json.load(open(f"{d}/status.json"))
print("seconds from the command's start:", {k: round(v - t0, 1) for k, v in st["marks"].items()})   # train.MARKS
for role in ("train", "quick_eval"):
    m = json.load(open(f"{states}/{role}/meta.json"))
    print(f"state cache {role}:", {k: m.get(k) for k in ("build_seconds", "checksum_seconds", "bytes")})
print({k: s.get(k) for k in ("status", "error", "duration_s", "accuracy", "device")})
print({k: st.get(k) for k in ("loop_seconds", "first_step_seconds", "phase_seconds")})
m = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]; t = [r for r in m if r["kind"] == "train"]
print("train elapsed at last step (s):", round(t[-1]["elapsed_s"], 1), "steps:", t[-1]["step"])
print("samples/s per log line:", [round(r["samples_per_s"]) for r in t][::4])
print("lm_loss:", [round(r["lm_loss"], 3) for r in t][::4])
print("quick evals:", [(r["step"], round(r["quick_eval_acc"], 3), round(r["elapsed_s"], 1)) for r in m if r["kind"] == "quick_eval"])
PY
cp $d/metrics.jsonl $d/summary.json $d/status.json $out/
tail -30 $out/run.log
