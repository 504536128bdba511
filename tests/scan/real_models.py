"""Real benign models for scanner tests: files fetched by scripts/models.py and scikit-learn models.

Model files are only read as bytes here; the estimators are fitted in the test process and written
with ``joblib.dump``/``pickle.dump``, never read back.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / ".cache" / "models"
# folders written by scripts/models.py, each a set of real files from one PyPI archive
FOLDERS = (
    "silero-vad",
    "joblib-test-data",
    "numpy-2.4.6-test-data",
    "numpy-1.26.4-test-data",
    "llama-vocab-gguf",
)
TORCHSCRIPT = MODELS / "silero-vad" / "silero_vad.jit"
# joblib < 0.10 "ZF" files: b"ZF", the uncompressed length in hex padded to 19 bytes, zlib data
ZF_PREFIX = b"ZF"
ZF_LENGTH_WIDTH = len(hex(2**64))


def real_files() -> list[Path]:
    """Every fetched file; a missing folder stands for itself so that its test fails."""
    files: list[Path] = []
    for folder in FOLDERS:
        found = sorted(p for p in (MODELS / folder).rglob("*") if p.is_file())
        files += found or [MODELS / folder]
    return files


def missing(path: Path) -> str:
    return f"{path} is missing: run `python3 scripts/models.py`"


# ---------------------------------------------------------------- scikit-learn and friends

# estimators fitted on scikit-learn's bundled digits; their libraries are imported when first used
BENIGN = (
    "scaler-pca-logistic",
    "column-transformer-onehot",
    "random-forest",
    "hist-gradient-boosting",
    "kneighbors-kd-tree",
    "tfidf-logistic",
    "log1p-logistic",
    "select-k-best",
    "grid-search",
    "xgboost",
    "lightgbm",
)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data[:300], data.target[:300]


@contextmanager
def _quiet_single_thread() -> Iterator[None]:
    """Fit on one thread (OpenMP spinning on a busy machine costs seconds) and without warnings."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant pixels, few lbfgs iterations: fine here
        yield


def _documents(x: np.ndarray) -> list[str]:
    """Each digit image as words naming its bright pixels."""
    return [" ".join(f"px{i}" for i in np.flatnonzero(row > 8)) for row in x]


def _estimators() -> dict[str, Callable[[], Any]]:
    from lightgbm import LGBMClassifier
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
    from xgboost import XGBClassifier

    def logistic() -> LogisticRegression:
        return LogisticRegression(max_iter=300)

    def columns() -> ColumnTransformer:
        onehot = ("onehot", OneHotEncoder(handle_unknown="ignore"), [10, 20, 30, 40])
        return ColumnTransformer([onehot, ("scale", StandardScaler(), list(range(64)))])

    def grid_search() -> GridSearchCV:
        grid = {"logisticregression__C": [0.1, 1.0]}
        return GridSearchCV(make_pipeline(StandardScaler(), logistic()), grid, cv=2)

    return {
        "scaler-pca-logistic": lambda: make_pipeline(StandardScaler(), PCA(16), logistic()),
        "column-transformer-onehot": lambda: make_pipeline(columns(), logistic()),
        "random-forest": lambda: RandomForestClassifier(n_estimators=10, random_state=0),
        "hist-gradient-boosting": lambda: HistGradientBoostingClassifier(max_iter=10),
        "kneighbors-kd-tree": lambda: KNeighborsClassifier(algorithm="kd_tree"),
        "tfidf-logistic": lambda: make_pipeline(TfidfVectorizer(), logistic()),
        "log1p-logistic": lambda: make_pipeline(FunctionTransformer(np.log1p), logistic()),
        "select-k-best": lambda: make_pipeline(SelectKBest(f_classif, k=20), logistic()),
        "grid-search": grid_search,
        "xgboost": lambda: XGBClassifier(n_estimators=5, max_depth=3, n_jobs=1),
        "lightgbm": lambda: LGBMClassifier(n_estimators=5, n_jobs=1, verbose=-1),
    }


def fitted_estimators() -> dict[str, Any]:
    """Every estimator in ``BENIGN``, fitted (the text model on the digits as words)."""
    x, y = _digits()
    made = {name: make() for name, make in _estimators().items()}
    with _quiet_single_thread():
        for name, estimator in made.items():
            estimator.fit(_documents(x) if name == "tfidf-logistic" else x, y)
    return made


def system_pipeline() -> Any:
    """The attack twin: a fitted pipeline whose transformer is ``os.system``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    x, y = _digits()
    with _quiet_single_thread():
        steps = [
            ("scale", StandardScaler().fit(x)),
            ("run", FunctionTransformer(func=os.system)),
            ("clf", LogisticRegression(max_iter=300).fit(x, y)),
        ]
    return Pipeline(steps)


def _joblib_dump(obj: Any, path: Path, compress: Any = 0) -> None:
    import joblib

    joblib.dump(obj, path, compress=compress)


DUMPS: dict[str, Callable[[Any, Path], None]] = {
    "joblib": _joblib_dump,
    "joblib-zlib3": lambda obj, path: _joblib_dump(obj, path, 3),
    "joblib-xz3": lambda obj, path: _joblib_dump(obj, path, ("xz", 3)),
    "pickle-p2": lambda obj, path: path.write_bytes(pickle.dumps(obj, protocol=2)),
    "pickle-p5": lambda obj, path: path.write_bytes(pickle.dumps(obj, protocol=5)),
}


def dump(obj: Any, kind: str, folder: Path) -> Path:
    """Write ``obj`` the way ``kind`` does, as the only file of a fresh model folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("model.joblib" if kind.startswith("joblib") else "model.pkl")
    DUMPS[kind](obj, path)
    return path


# ---------------------------------------------------------------- attack twins of real files


def replace_member(archive: Path, suffix: str, data: bytes, out: Path) -> str:
    """Copy ``archive`` member by member into ``out``, replacing the one ending in ``suffix``.

    Returns the replaced member's name.
    """
    replaced = ""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename.endswith(suffix) and not replaced:
                replaced = info.filename
                dst.writestr(info, data)
            else:
                dst.writestr(info, src.read(info))
    assert replaced, f"{archive.name} has no member ending in {suffix}"
    return replaced


def zf_bytes(payload: bytes) -> bytes:
    """A joblib "ZF" compat file holding ``payload``, framed like the real ones joblib 0.9 wrote."""
    length = hex(len(payload)).encode().ljust(ZF_LENGTH_WIDTH)
    return ZF_PREFIX + length + zlib.compress(payload)
