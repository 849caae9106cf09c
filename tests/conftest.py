"""Shared pytest set-up: flags, data location and the offline switches."""
import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# ../shared/data (beside the checkout) is the data every test machine has
_shared = ROOT.parent / "shared" / "data"
if "TELEPATHY_DATA_DIR" not in os.environ and _shared.is_dir():
    os.environ["TELEPATHY_DATA_DIR"] = str(_shared)


def data_dir() -> Path | None:
    "The data directory the tests may use, or None."
    d = os.environ.get("TELEPATHY_DATA_DIR")
    return Path(d) if d and Path(d).is_dir() else None


needs_data = pytest.mark.skipif(
    data_dir() is None, reason="no data: set TELEPATHY_DATA_DIR to a folder like ../shared/data")
