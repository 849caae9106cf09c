# Issue 34's message experiment (experiments/checks/check_message.py) on one warm GPU with the embedded pair, after
# `source experiments/gpu/gpu_embedded_setup.sh`. One process per task and n, all on the one GPU: each trains its 20
# trials in lockstep and is still launch-bound, so together they keep the GPU busy. Each writes
# /tmp/msg/message_TASK_nN.json after every point, so a later call on the same warm machine continues where this one
# stopped; the JSONs are copied to OUTDIR when the processes end or SECONDS have passed.
# Usage: source experiments/gpu/gpu_message.sh OUTDIR "sst2 trec" "500 2000" 0,1,2,3,4 SECONDS
msg_out=$1; msg_tasks=$2; msg_ns=$3; msg_seeds=$4; msg_secs=$5
mkdir -p /tmp/msg
for t in $msg_tasks; do for n in $msg_ns; do
  timeout "${msg_secs}s" python3 experiments/checks/check_message.py "/tmp/msg/message_${t}_n${n}.json" --preset embedded \
    --n "$n" --seeds "$msg_seeds" --eval-batch 128 -p task="$t" -p holdout_rows=500 -p latent_init=orthogonal \
    -p slot_weight=0.5 >>"/tmp/msg/log_${t}_n${n}.txt" 2>&1 &
done; done
wait
cp /tmp/msg/*.json "$msg_out"/ 2>/dev/null; tail -n 4 /tmp/msg/log_*.txt
