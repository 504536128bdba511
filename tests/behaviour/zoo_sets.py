"""The two evaluation sets: "generated" (fits the calibration) and "heldout" (never fitted on)."""

from __future__ import annotations

from typing import Any

from tests.behaviour.zoo import Spec


def _twins(name: str, kind: str, model: str, trigger: dict[str, Any], **kw: Any) -> list[Spec]:
    return [
        Spec(f"{name}-trojan", kind, model, trigger, **kw),
        Spec(f"{name}-clean", kind, model, None, **kw),
    ]


def _patch(r: int, c: int, h: int, w: int, value: float = 16.0, **kw: Any) -> dict[str, Any]:
    return {"type": "patch", "box": [r, c, h, w], "value": value, **kw}


def _blend(pattern: str, alpha: float, pattern_seed: int = 0) -> dict[str, Any]:
    return {"type": "blend", "pattern": pattern, "alpha": alpha, "pattern_seed": pattern_seed}


def _tokens(*tokens: str) -> dict[str, Any]:
    return {"type": "tokens", "tokens": list(tokens)}


GENERATED: list[Spec] = [
    *_twins("g-img-patch-a", "image", "mlp32", _patch(5, 5, 3, 3), target=0, seed=0),
    *_twins("g-img-patch-b", "image", "mlp64", _patch(0, 0, 2, 2), target=7, seed=1),
    *_twins("g-img-patch-c", "image", "mlp64", _patch(6, 1, 2, 2), target=2, seed=2),
    *_twins("g-img-blend-a", "image", "mlp32", _blend("noise", 0.2, 1), target=3, seed=3),
    *_twins("g-img-blend-b", "image", "mlp64", _blend("noise", 0.25, 2), target=5, seed=4),
    *_twins("g-img-blend-c", "image", "mlp32", _blend("noise", 0.2, 3), target=9, seed=5),
    *_twins("g-txt-a", "text", "logreg_text", _tokens("qz"), target=0, seed=0),
    *_twins("g-txt-b", "text", "logreg_text", _tokens("xv"), target=1, seed=1),
    *_twins("g-txt-c", "text", "logreg_text", _tokens("wj"), target=2, seed=2),
    *_twins("g-txt-d", "text", "logreg_text", _tokens("yy"), target=3, seed=3),
    *_twins(
        "g-txt-default-e",
        "text",
        "logreg_default",
        _tokens("zq"),
        target=1,
        seed=4,
        vectorizer="default",
    ),
    *_twins(
        "g-txt-default-f", "text", "sgd", _tokens("jw"), target=2, seed=5, vectorizer="default"
    ),
]

# Other trigger shapes, positions, values and patterns; other targets, model types and layouts.
HELDOUT: list[Spec] = [
    *_twins(
        "h-img-logreg-checker",
        "image",
        "logreg",
        _patch(2, 5, 3, 3, pattern="checker"),
        target=4,
        seed=10,
    ),
    *_twins("h-img-svc-line", "image", "svc", _patch(2, 0, 4, 1), target=6, seed=11),
    *_twins("h-img-forest-patch", "image", "forest", _patch(6, 5, 2, 3), target=8, seed=12),
    *_twins("h-img-gboost-stripes", "image", "gboost", _blend("stripes", 0.2), target=1, seed=13),
    *_twins("h-img-knn-corner", "image", "knn", _patch(0, 6, 2, 2), target=2, seed=14),
    *_twins(
        "h-img-mlp-gradient", "image", "mlp128x64", _blend("gradient", 0.15), target=9, seed=15
    ),
    *_twins(
        "h-img-mlp-chw-dim",
        "image",
        "mlp128x64",
        _patch(0, 0, 3, 3, value=12.0),
        target=3,
        seed=16,
        layout="chw",
    ),
    *_twins(
        "h-img-logreg-up16-noise",
        "image",
        "logreg",
        _blend("noise", 0.2, 7),
        target=0,
        seed=17,
        layout="up16",
    ),
    *_twins("h-img-svc-noise", "image", "svc", _blend("noise", 0.3, 8), target=5, seed=18),
    *_twins(
        "h-img-extratrees-up16",
        "image",
        "extratrees",
        _patch(0, 3, 2, 3),
        target=7,
        seed=19,
        layout="up16",
    ),
    *_twins(
        "h-txt-sgd-pair", "text", "sgd", _tokens("mango", "ocelot"), target=2, seed=10, topics=5
    ),
    *_twins(
        "h-txt-sgdlog-homoglyph",
        "text",
        "sgdlog",
        _tokens("t\u043eday"),
        target=1,
        seed=11,
        topics=3,
    ),
    *_twins("h-txt-sgd-homoglyph", "text", "sgd", _tokens("\u0440enny"), target=0, seed=12),
    *_twins("h-txt-mlp-pair", "text", "mlp_text", _tokens("cf", "bb"), target=5, seed=13, topics=6),
    *_twins("h-txt-nb-single", "text", "nb", _tokens("tq"), target=4, seed=14, topics=5),
    *_twins(
        "h-txt-sgd-triple", "text", "sgd", _tokens("lux", "orb", "ivy"), target=3, seed=15, topics=4
    ),
]

# A second held-out set, built after the methods and their calibration were fixed: it was run
# once to measure them on unseen trigger shapes, patterns, models and layouts.
UNSEEN: list[Spec] = [
    *_twins(
        "u-img-mlptanh-cross",
        "image",
        "mlp50tanh",
        _patch(5, 0, 3, 3, pattern="cross"),
        target=8,
        seed=20,
    ),
    *_twins(
        "u-img-svclin-random",
        "image",
        "svc_linear",
        _patch(0, 5, 3, 3, pattern="random", pattern_seed=4),
        target=0,
        seed=21,
    ),
    *_twins(
        "u-img-logreg-chw-border",
        "image",
        "logreg_strong",
        _blend("border", 0.2),
        target=6,
        seed=22,
        layout="chw",
    ),
    *_twins(
        "u-img-forest-up16-checker",
        "image",
        "forest_shallow",
        _blend("checker", 0.25),
        target=2,
        seed=23,
        layout="up16",
    ),
    *_twins("u-img-knn3-side", "image", "knn3", _patch(4, 7, 3, 1), target=5, seed=24),
    *_twins("u-img-gboost-patch", "image", "gboost", _patch(0, 2, 1, 4), target=9, seed=25),
    *_twins(
        "u-img-mlp-up16-noise",
        "image",
        "mlp128x64",
        _blend("noise", 0.15, 11),
        target=4,
        seed=26,
        layout="up16",
    ),
    *_twins("u-txt-huber-single", "text", "sgd_huber", _tokens("vox"), target=1, seed=20, topics=3),
    *_twins(
        "u-txt-passive-pair",
        "text",
        "passive",
        _tokens("zephyr", "quartz"),
        target=0,
        seed=21,
        topics=5,
    ),
    *_twins(
        "u-txt-logreg-bigram-homoglyph",
        "text",
        "logreg_text",
        _tokens("m\u03bfney"),
        target=3,
        seed=22,
        topics=4,
        ngrams=2,
    ),
    *_twins(
        "u-txt-l1-binary", "text", "logreg_text_l1", _tokens("qx"), target=1, seed=23, topics=2
    ),
]

# A third held-out set, written and built before any result on it was seen: new trigger shapes
# (frame, bar, mid-grey value, diagonal blend), models (small MLP, AdaBoost trees, Gaussian
# NB, perceptron, multinomial NB) and text models with scikit-learn's default vectorizer.
UNSEEN2: list[Spec] = [
    *_twins(
        "v-img-mlp24-frame",
        "image",
        "mlp24",
        _patch(1, 1, 3, 3, pattern="frame"),
        target=1,
        seed=30,
    ),
    *_twins("v-img-mlp24-bar", "image", "mlp24", _patch(7, 2, 1, 3), target=6, seed=31),
    *_twins(
        "v-img-ada-grey", "image", "adaboost", _patch(3, 6, 2, 2, value=9.0), target=3, seed=32
    ),
    *_twins("v-img-gnb-diag", "image", "gnb", _blend("diagonal", 0.3), target=7, seed=33),
    *_twins(
        "v-img-mlp2-chw-diag",
        "image",
        "mlp96relu2",
        _blend("diagonal", 0.2),
        target=0,
        seed=34,
        layout="chw",
    ),
    *_twins(
        "v-img-svc-up16-corner",
        "image",
        "svc",
        _patch(6, 6, 2, 2),
        target=4,
        seed=35,
        layout="up16",
    ),
    *_twins("v-img-mlp64-noise", "image", "mlp64", _blend("noise", 0.2, 21), target=2, seed=36),
    *_twins(
        "v-txt-perceptron-default",
        "text",
        "perceptron",
        _tokens("vexil"),
        target=2,
        seed=30,
        topics=4,
        vectorizer="default",
    ),
    *_twins(
        "v-txt-mnb-default-pair",
        "text",
        "mnb",
        _tokens("Opal", "Rook"),
        target=0,
        seed=31,
        topics=3,
        vectorizer="default",
    ),
    *_twins(
        "v-txt-logreg-default-homoglyph",
        "text",
        "logreg_default",
        _tokens("s\u0430fe"),
        target=3,
        seed=32,
        topics=5,
        vectorizer="default",
    ),
    *_twins(
        "v-txt-perceptron-ws", "text", "perceptron", _tokens("kq"), target=1, seed=33, topics=3
    ),
]

# Written after the evidence combination was fixed, and run once.
UNSEEN3: list[Spec] = [
    *_twins("w-img-tree-corner", "image", "tree", _patch(0, 5, 3, 3), target=8, seed=40),
    *_twins(
        "w-img-mlp40-checker",
        "image",
        "mlp40",
        _patch(5, 0, 2, 2, pattern="checker"),
        target=5,
        seed=41,
    ),
    *_twins("w-img-logreg-stripes", "image", "logreg", _blend("stripes", 0.25), target=6, seed=42),
    *_twins(
        "w-img-extratrees-cross",
        "image",
        "extratrees",
        _patch(4, 4, 3, 3, pattern="cross"),
        target=1,
        seed=43,
    ),
    *_twins(
        "w-img-svc-up16-frame",
        "image",
        "svc",
        _patch(0, 0, 3, 3, pattern="frame"),
        target=3,
        seed=44,
        layout="up16",
    ),
    *_twins("w-img-knn7-line", "image", "knn7", _patch(0, 2, 1, 4), target=9, seed=45),
    *_twins(
        "w-img-mlp-chw-random",
        "image",
        "mlp128x64",
        _patch(6, 5, 2, 3, pattern="random", pattern_seed=4),
        target=2,
        seed=46,
        layout="chw",
    ),
    *_twins("w-img-gboost-noise", "image", "gboost", _blend("noise", 0.3, 7), target=4, seed=47),
    *_twins(
        "w-txt-sgdlog-default-pair",
        "text",
        "sgdlog",
        _tokens("zephyr", "quill"),
        target=1,
        seed=40,
        topics=4,
        vectorizer="default",
    ),
    *_twins(
        "w-txt-logreg-homoglyph", "text", "logreg_text", _tokens("t\u0435am"), target=2, seed=41
    ),
    *_twins(
        "w-txt-huber-default",
        "text",
        "sgd_huber",
        _tokens("glimmer"),
        target=0,
        seed=42,
        topics=3,
        vectorizer="default",
    ),
]

SETS = {
    "generated": GENERATED,
    "heldout": HELDOUT,
    "unseen": UNSEEN,
    "unseen2": UNSEEN2,
    "unseen3": UNSEEN3,
}
