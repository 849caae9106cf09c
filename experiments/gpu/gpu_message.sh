# Issue 34's message experiment (experiments/checks/check_message.py) on one warm GPU with the embedded pair, after
# `source experiments/gpu/gpu_embedded_setup.sh`. Workers run apart from the calling command (setsid), so they go on
# across device calls while the machine stays warm:
#   bash experiments/gpu/gpu_message.sh start TASK NS SEEDS LRS MAIN_WORKERS LORA_WORKERS
#       MAIN_WORKERS processes train $MAIN_METHODS (default: every method but lora and shuffled_message, which the
#       five-seed runs settled), LORA_WORKERS processes train lora; each pool shares the
#       (n, seed) points of NS × SEEDS, in that order, through `check_message.py --claim`, and each process writes
#       /tmp/msg/message_TASK_<pool>_w<i>.json after every point (join them with `check_message.py OUT --merge`).
#   bash experiments/gpu/gpu_message.sh wait SECONDS OUTDIR
#       waits until the workers end or SECONDS pass, then copies the JSONs and the logs' last lines to OUTDIR.
# WORKER_THREADS (default 3): CPU threads per worker, so that five workers do not oversubscribe 16 cores.
# PREV_DIR=DIR: parts an earlier machine wrote (same settings); their points are not run again (`--done`).
# Example: bash experiments/gpu/gpu_message.sh start trec 2000,4900,500 0,1,2,3,4,5,6,7,8,9 1e-4,3e-4,1e-3,3e-3,1e-2 3 2
mkdir -p /tmp/msg
case $1 in
start)
  task=$2; ns=$3; seeds=$4; lrs=$5; main=$6; lora=$7
  every=${MAIN_METHODS:-prompt_K,prompt_2K,message,self_message,label_message}
  launch() {   # pool methods index
    setsid nohup env PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True OMP_NUM_THREADS=${WORKER_THREADS:-3} python3 experiments/checks/check_message.py \
      "/tmp/msg/message_${task}_$1_w$3.json" --preset embedded --n "$ns" --seeds "$seeds" --lrs "$lrs" --methods "$2" \
      --eval-batch 64 --claim "/tmp/msg/claims_$task" ${PREV_DIR:+--done $PREV_DIR/message_${task}_*.json} \
      -p task="$task" -p holdout_rows=500 -p latent_init=orthogonal \
      -p slot_weight=0.5 >"/tmp/msg/log_${task}_$1_w$3.txt" 2>&1 </dev/null &
  }
  for i in $(seq 1 "$main"); do launch main "$every" "$i"; sleep 2; done
  for i in $(seq 1 "$lora"); do launch lora lora "$i"; sleep 2; done
  sleep 5; pgrep -fc check_message.py ;;
wait)
  end=$((SECONDS + $2))
  while pgrep -f check_message.py >/dev/null && [ $SECONDS -lt $end ]; do sleep 10; done
  mkdir -p "$3"; cp /tmp/msg/*.json "$3"/ 2>/dev/null
  ls /tmp/msg/claims_* 2>/dev/null | tr '\n' ' '; echo
  echo "workers still running: $(pgrep -fc check_message.py) (a point stays claimed while its worker runs; a point that failed is freed for the others; a killed worker's stays: rmdir it)"
  for f in /tmp/msg/log_*.txt; do echo "== $f"; grep -v Warning "$f" | tail -n 3; done
  nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader ;;
esac
