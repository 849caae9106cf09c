"""Package metadata, read from settings.ini as nbdev 2 expects."""
from configparser import ConfigParser
from pathlib import Path
import shutil
import setuptools
from setuptools.command.build_py import build_py

cfg = ConfigParser(delimiters=["="])
cfg.read(Path(__file__).parent / "settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]


def _reqs(key):
    return cfg.get(key, "").split()


class BuildWithTemplates(build_py):
    "Ship the papermill templates (nbs/runs/*.ipynb, their one source) inside the package as telepathy_nb/templates/."
    def run(self):
        super().run()
        dest = Path(self.build_lib) / cfg["lib_name"] / "templates"
        dest.mkdir(parents=True, exist_ok=True)
        for nb in sorted((Path(__file__).parent / "nbs" / "runs").glob("*.ipynb")):
            shutil.copyfile(nb, dest / nb.name)


setuptools.setup(
    cmdclass={"build_py": BuildWithTemplates},
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    license="Apache-2.0",
    python_requires=">=" + cfg["min_python"],
    packages=setuptools.find_packages(include=[cfg["lib_name"], cfg["lib_name"] + ".*"]),
    install_requires=_reqs("requirements"),
    extras_require={"dev": _reqs("dev_requirements"), "embedded": _reqs("embedded_requirements"),
                    "cluster": _reqs("cluster_requirements"), "trackers": _reqs("tracker_requirements")},
    entry_points={
        "console_scripts": cfg.get("console_scripts", "").split(),
        "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
    },
    include_package_data=True,
    zip_safe=False,
)
