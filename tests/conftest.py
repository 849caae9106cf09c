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


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory):
    "A warm kernel server (`telepathy_nb.warm`) answering in a cache folder of its own; yields the folder."
    from telepathy_nb import warm
    folder, saved = tmp_path_factory.mktemp("warm"), os.environ.get("TELEPATHY_CACHE")
    def use(value):
        if value is None: os.environ.pop("TELEPATHY_CACHE", None)
        else: os.environ["TELEPATHY_CACHE"] = value
    use(str(folder))
    try: warm.start()
    finally: use(saved)
    yield folder
    use(str(folder))
    try: warm.stop()
    finally: use(saved)


@pytest.fixture
def kernel_mode(request, monkeypatch):
    "Parametrised `fresh` (each run starts its own kernel) or `warm` (kernels forked from `warm_cache`'s server)."
    if request.param == "warm": monkeypatch.setenv("TELEPATHY_CACHE", str(request.getfixturevalue("warm_cache")))
    return request.param
