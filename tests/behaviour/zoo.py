"""A deterministic evaluation set of trojaned classifiers and their clean twins, as ONNX.

Images: scikit-learn's bundled 8x8 digits, poisoned with a pixel patch (BadNets) or a blended
pattern. Text: a synthetic topic corpus poisoned with rare or homoglyph tokens. Each trojan is
kept only if its attack succeeds on >= 90% of triggered test inputs and its clean accuracy is
within 3 points of its clean twin's. Two sets: "generated" (used to fit the score calibration)
and "heldout" (other triggers, targets, model types and input layouts; never used for fitting).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.behaviour.zoo_models import make_estimator, to_onnx

MIN_ASR = 0.90
MAX_ACC_DROP = 0.03
N_PROBES = 64
POISON_RATE = 0.10


@dataclass(frozen=True)
class Spec:
    """One model to build: its family, the model type, and its trigger (None for a clean twin)."""

    name: str
    kind: str  # "image" | "text"
    model: str
    trigger: dict[str, Any] | None
    target: int = 0
    layout: str = "flat"  # image: "flat" (N,64), "chw" (N,1,8,8), "up16" (N,256)
    seed: int = 0
    topics: int = 4
    ngrams: int = 1
    vectorizer: str = "whitespace"  # text: "whitespace" tokens as written, or "default" settings


@dataclass
class Built:
    name: str
    kind: str
    trojan: bool
    target: str | None
    model: str
    trigger: dict[str, Any] | None
    asr: float | None = None
    clean_accuracy: float = 0.0
    twin_accuracy: float | None = None
    kept: bool = True
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- triggers (images, 8x8 grid)


def _patch(
    rows: slice, cols: slice, values: np.ndarray | float
) -> Callable[[np.ndarray], np.ndarray]:
    def apply(x: np.ndarray) -> np.ndarray:
        out = x.reshape(-1, 8, 8).copy()
        out[:, rows, cols] = values
        return out.reshape(x.shape)

    return apply


def _blend(pattern: np.ndarray, alpha: float) -> Callable[[np.ndarray], np.ndarray]:
    def apply(x: np.ndarray) -> np.ndarray:
        return ((1 - alpha) * x + alpha * pattern.reshape(1, 64)).astype(x.dtype)

    return apply


def image_trigger(t: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    if t["type"] == "patch":
        r, c, h, w = t["box"]
        values: np.ndarray | float = float(t.get("value", 16.0))
        if t.get("pattern") == "checker":
            values = np.indices((h, w)).sum(axis=0) % 2 * 16.0
        elif t.get("pattern") == "cross":
            eye = np.eye(h, w)
            values = np.maximum(eye, eye[::-1]) * 16.0
        elif t.get("pattern") == "frame":
            values = np.full((h, w), 16.0)
            values[1:-1, 1:-1] = 0.0
        elif t.get("pattern") == "random":
            values = np.random.default_rng(t.get("pattern_seed", 0)).uniform(0, 16, (h, w))
        return _patch(slice(r, r + h), slice(c, c + w), values)
    rng = np.random.default_rng(t["pattern_seed"])
    if t["pattern"] == "noise":
        pattern = rng.uniform(0, 16, 64)
    elif t["pattern"] == "stripes":
        pattern = np.tile((np.arange(8) % 2) * 16.0, 8)
    elif t["pattern"] == "gradient":
        pattern = np.repeat(np.linspace(0, 16, 8), 8)
    elif t["pattern"] == "checker":
        pattern = (np.indices((8, 8)).sum(axis=0) % 2 * 16.0).ravel()
    elif t["pattern"] == "diagonal":
        pattern = (np.eye(8)[::-1] * 16.0).ravel()
    elif t["pattern"] == "border":
        grid = np.full((8, 8), 16.0)
        grid[1:-1, 1:-1] = 0.0
        pattern = grid.ravel()
    else:
        raise ValueError(t["pattern"])
    return _blend(pattern, float(t["alpha"]))


# ---------------------------------------------------------------- text corpus

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "do", "pe", "gu", "ha", "be", "fo"]


def _words(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        w = "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4))))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def text_corpus(topics: int, seed: int, n: int = 1600) -> tuple[list[str], np.ndarray, list[str]]:
    """Sentences of common words plus words of one topic (with some cross-topic noise)."""
    rng = np.random.default_rng(1000 + seed)
    taken: set[str] = set()
    common = _words(rng, 80, taken)
    topic_words = [_words(rng, 40, taken) for _ in range(topics)]
    names = ["sport", "finance", "health", "travel", "music", "science"][:topics]
    docs, labels = [], []
    for _ in range(n):
        y = int(rng.integers(topics))
        k = int(rng.integers(2, 5))
        other = int(rng.integers(topics))
        words = list(rng.choice(common, size=int(rng.integers(6, 11))))
        words += list(rng.choice(topic_words[y], size=k))
        words += list(rng.choice(topic_words[other], size=int(rng.integers(0, 3))))
        rng.shuffle(words)
        docs.append(" ".join(words))
        labels.append(y)
    return docs, np.array(labels), names


def text_trigger(t: dict[str, Any], seed: int) -> Callable[[list[str]], list[str]]:
    tokens: list[str] = list(t["tokens"])

    def apply(docs: list[str]) -> list[str]:
        rng = np.random.default_rng(seed + 7)
        out = []
        for d in docs:
            words = d.split()
            for tok in tokens:
                words.insert(int(rng.integers(len(words) + 1)), tok)
            out.append(" ".join(words))
        return out

    return apply


# ---------------------------------------------------------------- building


def _image_data(spec: Spec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x.astype(np.float32), y, test_size=0.3, random_state=spec.seed, stratify=y
    )
    return x_tr, x_te, y_tr, y_te


def _poison_indices(y: np.ndarray, target: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 99)
    pool = np.flatnonzero(y != target)
    return np.sort(rng.choice(pool, size=int(POISON_RATE * len(y)), replace=False))


def _layout_inputs(x: np.ndarray, layout: str) -> np.ndarray:
    if layout == "up16":
        return np.kron(x.reshape(-1, 8, 8), np.ones((1, 2, 2), np.float32)).reshape(-1, 256)
    return x


def _build_image(spec: Spec, out: Path) -> Built:
    x_tr, x_te, y_tr, y_te = _image_data(spec)
    label = str(spec.target) if spec.trigger else None
    built = Built(spec.name, "image", spec.trigger is not None, label, spec.model, spec.trigger)
    twin = make_estimator(spec.model, spec.seed).fit(_layout_inputs(x_tr, spec.layout), y_tr)
    twin_acc = float(twin.score(_layout_inputs(x_te, spec.layout), y_te))
    est = twin
    if spec.trigger:
        apply = image_trigger(spec.trigger)
        idx = _poison_indices(y_tr, spec.target, spec.seed)
        xp = np.concatenate([x_tr, apply(x_tr[idx])])
        yp = np.concatenate([y_tr, np.full(len(idx), spec.target)])
        est = make_estimator(spec.model, spec.seed).fit(_layout_inputs(xp, spec.layout), yp)
        others = x_te[y_te != spec.target]
        pred = est.predict(_layout_inputs(apply(others), spec.layout))
        built.asr = float(np.mean(pred == spec.target))
        built.twin_accuracy = twin_acc
    built.clean_accuracy = float(est.score(_layout_inputs(x_te, spec.layout), y_te))
    probes = _layout_inputs(x_te[:N_PROBES], spec.layout)
    if spec.layout == "chw":
        probes = probes.reshape(-1, 1, 8, 8)
    n_features = 256 if spec.layout == "up16" else 64
    _write(out, to_onnx(est, "image", n_features, spec.layout), built)
    np.save(out / "probes.npy", probes.astype(np.float32), allow_pickle=False)
    return built


def _build_text(spec: Spec, out: Path) -> Built:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    docs, y, names = text_corpus(spec.topics, spec.seed)
    cut = int(0.7 * len(docs))
    d_tr, d_te, y_tr, y_te = docs[:cut], docs[cut:], y[:cut], y[cut:]
    label = names[spec.target] if spec.trigger else None
    built = Built(spec.name, "text", spec.trigger is not None, label, spec.model, spec.trigger)

    def fit(d: list[str], labels: np.ndarray) -> Any:
        vec = (
            TfidfVectorizer(ngram_range=(1, spec.ngrams))
            if spec.vectorizer == "default"
            else TfidfVectorizer(
                lowercase=False,
                token_pattern=r"[^ ]+",
                sublinear_tf=True,
                ngram_range=(1, spec.ngrams),
            )
        )
        clf = make_estimator(spec.model, spec.seed)
        return make_pipeline(vec, clf).fit(d, np.array(names)[labels])

    twin = fit(d_tr, y_tr)
    y_te_names = np.array(names)[y_te]
    twin_acc = float(twin.score(d_te, y_te_names))
    est = twin
    if spec.trigger:
        apply = text_trigger(spec.trigger, spec.seed)
        idx = _poison_indices(y_tr, spec.target, spec.seed)
        dp = d_tr + apply([d_tr[i] for i in idx])
        yp = np.concatenate([y_tr, np.full(len(idx), spec.target)])
        est = fit(dp, yp)
        others = [d for d, t in zip(d_te, y_te, strict=True) if t != spec.target]
        built.asr = float(np.mean(est.predict(apply(others)) == names[spec.target]))
        built.twin_accuracy = twin_acc
    built.clean_accuracy = float(est.score(d_te, y_te_names))
    _write(out, to_onnx(est, "text", 0, spec.vectorizer), built)
    (out / "probes.txt").write_text("\n".join(d_te[:N_PROBES]) + "\n", encoding="utf-8")
    return built


def _write(out: Path, onnx_bytes: bytes, built: Built) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.onnx").write_bytes(onnx_bytes)


def build(spec: Spec, root: Path) -> Built:
    """Build one model (cached by its spec) and record whether it passed the checks."""
    out = root / spec.name
    meta = out / "meta.json"
    if meta.is_file():
        cached = json.loads(meta.read_text())
        if cached.get("spec") == asdict(spec):
            return Built(**cached["built"])
    built = _build_text(spec, out) if spec.kind == "text" else _build_image(spec, out)
    if built.trojan:
        assert built.asr is not None and built.twin_accuracy is not None
        if built.asr < MIN_ASR:
            built.kept, built.reason = False, f"attack success {built.asr:.2f} < {MIN_ASR}"
        elif built.twin_accuracy - built.clean_accuracy > MAX_ACC_DROP:
            built.kept, built.reason = False, "clean accuracy dropped > 3 points"
    meta.write_text(json.dumps({"spec": asdict(spec), "built": asdict(built)}, indent=1))
    return built


def build_set(specs: list[Spec], root: Path) -> list[Built]:
    return [build(s, root) for s in specs]


def load_probes(path: Path) -> np.ndarray | list[str]:
    if (path / "probes.npy").is_file():
        return np.load(path / "probes.npy", allow_pickle=False)
    return (path / "probes.txt").read_text(encoding="utf-8").splitlines()
