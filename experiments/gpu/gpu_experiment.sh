# Run (or continue) a study or a learning curve on a warm GPU machine set up by gpu_embedded_setup.sh; its
# results JSON lives in /tmp/results (kept between calls) and is copied to $OUT however the command ends.
# Usage: bash experiments/gpu/gpu_experiment.sh SECONDS study|curves NAME [options of that telepathy command...]
set -u
source experiments/gpu/gpu_embedded_setup.sh || exit 1
limit=$1; cmd=$2; name=$3; shift 3
mkdir -p /tmp/results
extra=(); [ "$cmd" = study ] && extra=(--root /tmp/studyruns)
timeout "$limit" python3 -c "import sys; from telepathy_nb.cli import main; sys.exit(main(sys.argv[1:]))" \
  "$cmd" "$name" --out /tmp/results/$name.json "${extra[@]}" "$@" 2>&1 | grep --line-buffered -v "Loading weights\|TCP without encryption"
cp /tmp/results/*.json "$OUT"/ 2>/dev/null; ls -la "$OUT"
