# Source this on a lent GPU machine (no network): installs the carried wheels (.whl, see
# experiments/README.md) into /tmp/site and points the package, data and papermill at the checkout.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || return 1
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH
export TELEPATHY_DATA_DIR=$PWD/.devcarry/data HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONUNBUFFERED=1
# nbconvert finds its HTML templates under a share/jupyter of JUPYTER_PATH (pip --target puts them in /tmp/site)
export JUPYTER_PATH=/tmp/site/share/jupyter
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, transformers, accelerate, datasets, papermill; print('torch', torch.__version__, 'transformers', transformers.__version__, 'accelerate', accelerate.__version__, 'datasets', datasets.__version__, 'gpus', torch.cuda.device_count())"
