# Run a command while sampling what the machine does, so a slow GPU call shows whether the GPU or the host is the
# bottleneck: every INTERVAL seconds one line of GPU utilisation/memory and the busiest processes' CPU share.
# Usage: bash experiments/gpu/gpu_watch.sh INTERVAL LOGFILE COMMAND [ARGS...]   (the command's own output is unchanged)
set -u
interval=$1; log=$2; shift 2
"$@" & pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep "$interval"
  { echo "== $(date +%T) gpu: $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader | tr '\n' ' ')"
    top -b -n1 -o %CPU | sed -n '8,13p'; } >> "$log" 2>&1
done
wait "$pid"
