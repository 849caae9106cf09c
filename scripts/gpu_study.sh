# Run (or continue) a study on a warm GPU machine set up by gpu_embedded_setup.sh; its results JSON lives in
# /tmp/results (kept between calls) and is copied to $OUT however the command ends.
# Usage: bash scripts/gpu_study.sh SECONDS NAME [telepathy study options...]
set -u
source scripts/gpu_embedded_setup.sh || exit 1
limit=$1; name=$2; shift 2
mkdir -p /tmp/results
timeout "$limit" python3 -c "import sys; from telepathy_nb.cli import main; sys.exit(main(sys.argv[1:]))" \
  study "$name" --out /tmp/results/$name.json --root /tmp/studyruns "$@" 2>&1 | grep -v "Loading weights\|TCP without encryption"
cp /tmp/results/*.json "$OUT"/ 2>/dev/null; ls -la "$OUT"
