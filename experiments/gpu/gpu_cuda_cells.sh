# Run notebooks' tests with their cuda-flagged cells on a GPU machine already set up (gpu_setup.sh or
# gpu_embedded_setup.sh sourced). Usage: bash experiments/gpu/gpu_cuda_cells.sh OUTDIR NOTEBOOK...   (names without .ipynb)
# Writes OUTDIR/cuda_NOTEBOOK.log per notebook and prints each one's verdict.
set -u
out=$1; shift
for nb in "$@"; do
  python3 -c "
from pathlib import Path; from nbdev.test import test_nb
ok, t = test_nb(Path('nbs/$nb.ipynb'), skip_flags=['slow'], force_flags=['cuda'], do_print=True)
print('$nb with cuda cells:', 'passed' if ok else 'FAILED', f'{t:.0f} s')" > "$out/cuda_$nb.log" 2>&1
  tail -1 "$out/cuda_$nb.log"; grep -m3 -E "Error|error:" "$out/cuda_$nb.log"
done
