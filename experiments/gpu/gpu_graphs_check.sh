# Whole-step CUDA graphs on one GPU (issue 16): the cuda-flagged cells of 09a_graphs and 10_train (capture, replay, the
# same training as the plain loop), then the standard bench with its latency-graph rows (the decision captured whole as
# one graph, "captured", next to torch.compile's CUDA graphs, "graphs"). Usage: bash experiments/gpu/gpu_graphs_check.sh OUTDIR
set -u
source experiments/gpu/gpu_setup.sh >/dev/null || exit 1
out=${1:-/tmp/out}
bash experiments/gpu/gpu_cuda_cells.sh "$out" 09a_graphs 10_train
python3 -c "from telepathy_nb.cli import main; raise SystemExit(main(['bench', '--latency-graphs', '--out', '$out/bench_graphs.json']))" 2>&1 | grep -v Warning | tee "$out/bench_graphs.log" | tail -40
