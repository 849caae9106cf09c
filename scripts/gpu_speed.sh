# On a 2-GPU machine: the benchmark table on GPU 0 (reference step vs ours: eager, from the state cache,
# compiled at several micro-batch sizes) while GPU 1 runs 12_bench's cuda-flagged cells (fast vs plain
# path: same loss and bridge gradients in bf16). Usage: bash scripts/gpu_speed.sh OUTDIR [ITERS]
set -u
source scripts/gpu_setup.sh >/dev/null || exit 1
out=${1:-/tmp/out}; iters=${2:-15}
(CUDA_VISIBLE_DEVICES=1 python3 -c "
from pathlib import Path; from nbdev.test import test_nb
ok, t = test_nb(Path('nbs/16_bench.ipynb'), skip_flags=['slow'], force_flags=['cuda'], do_print=True)
print('12_bench with cuda cells:', 'passed' if ok else 'FAILED', f'{t:.0f} s')" > $out/cuda_cells.log 2>&1) &
CUDA_VISIBLE_DEVICES=0 python3 -c "from telepathy_nb.cli import main; raise SystemExit(main(['bench', '--compile', '--micro-batches', '16,32,64', '--iters', '$iters', '--out', '$out/bench.json']))" 2>&1 | grep -v Warning | tee $out/bench.log
wait
tail -5 $out/cuda_cells.log
