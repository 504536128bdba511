"""The estimators the evaluation sets train, and their conversion to ONNX with skl2onnx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def make_estimator(name: str, seed: int) -> Any:
    from sklearn import ensemble, linear_model, naive_bayes, neighbors, neural_network, svm, tree

    makers: dict[str, Callable[[], Any]] = {
        "mlp32": lambda: neural_network.MLPClassifier((32,), max_iter=400, random_state=seed),
        "mlp64": lambda: neural_network.MLPClassifier((64,), max_iter=400, random_state=seed),
        "mlp128x64": lambda: neural_network.MLPClassifier(
            (128, 64), max_iter=400, random_state=seed
        ),
        "logreg": lambda: linear_model.LogisticRegression(max_iter=2000, C=1.0),
        "svc": lambda: svm.SVC(probability=True, gamma="scale", random_state=seed),
        "forest": lambda: ensemble.RandomForestClassifier(60, random_state=seed),
        "gboost": lambda: ensemble.GradientBoostingClassifier(
            n_estimators=40, max_depth=3, random_state=seed
        ),
        "extratrees": lambda: ensemble.ExtraTreesClassifier(80, random_state=seed),
        "knn": lambda: neighbors.KNeighborsClassifier(5),
        "sgd": lambda: linear_model.SGDClassifier(loss="hinge", random_state=seed),
        "nb": lambda: naive_bayes.ComplementNB(alpha=0.3),
        "sgdlog": lambda: linear_model.SGDClassifier(
            loss="log_loss", alpha=1e-5, random_state=seed
        ),
        "mlp_text": lambda: neural_network.MLPClassifier((16,), max_iter=200, random_state=seed),
        "logreg_text": lambda: linear_model.LogisticRegression(max_iter=2000, C=10.0),
        "mlp50tanh": lambda: neural_network.MLPClassifier(
            (50,), activation="tanh", max_iter=500, random_state=seed
        ),
        "svc_linear": lambda: svm.SVC(kernel="linear", probability=True, random_state=seed),
        "logreg_strong": lambda: linear_model.LogisticRegression(max_iter=2000, C=0.1),
        "forest_shallow": lambda: ensemble.RandomForestClassifier(
            100, max_depth=8, random_state=seed
        ),
        "knn3": lambda: neighbors.KNeighborsClassifier(3, weights="distance"),
        "sgd_huber": lambda: linear_model.SGDClassifier(loss="modified_huber", random_state=seed),
        "passive": lambda: linear_model.PassiveAggressiveClassifier(random_state=seed),
        "logreg_text_l1": lambda: linear_model.LogisticRegression(
            max_iter=2000, C=20.0, penalty="l1", solver="liblinear"
        ),
        "mlp24": lambda: neural_network.MLPClassifier((24,), max_iter=600, random_state=seed),
        "mlp96relu2": lambda: neural_network.MLPClassifier(
            (96, 32), alpha=1e-3, max_iter=500, random_state=seed
        ),
        "adaboost": lambda: ensemble.AdaBoostClassifier(
            tree.DecisionTreeClassifier(max_depth=5), n_estimators=30, random_state=seed
        ),
        "gnb": lambda: naive_bayes.GaussianNB(),
        "perceptron": lambda: linear_model.SGDClassifier(loss="perceptron", random_state=seed),
        "mnb": lambda: naive_bayes.MultinomialNB(),
        "logreg_default": lambda: linear_model.LogisticRegression(max_iter=1000),
        "tree": lambda: tree.DecisionTreeClassifier(max_depth=10, random_state=seed),
        "mlp40": lambda: neural_network.MLPClassifier((40,), max_iter=500, random_state=seed),
        "knn7": lambda: neighbors.KNeighborsClassifier(7),
    }
    return makers[name]()


def to_onnx(est: Any, kind: str, n_features: int, layout: str) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    if kind == "text":
        vec = est.steps[0][1]
        clf = est.steps[-1][1]
        options: dict[int, dict[str, Any]] = {}
        if layout != "default":  # scikit-learn's default token pattern converts as it is
            options[id(vec)] = {"tokenexp": "[^ ]+"}
        if hasattr(clf, "predict_proba"):
            options[id(clf)] = {"zipmap": False}
        onx = convert_sklearn(
            est, initial_types=[("text", StringTensorType([None, 1]))], options=options
        )
        return bytes(onx.SerializeToString())
    onx = convert_sklearn(
        est,
        initial_types=[("pixels", FloatTensorType([None, n_features]))],
        options={id(est): {"zipmap": False}},
    )
    if layout == "chw":
        onx = _reshape_front(onx, (1, 8, 8), n_features)
    return bytes(onx.SerializeToString())


def _reshape_front(onx: Any, shape: tuple[int, ...], n_features: int) -> Any:
    """Give the graph an (N, *shape) input that it flattens itself."""
    from onnx import TensorProto, helper, numpy_helper

    graph = onx.graph
    old = graph.input[0].name
    new_input = helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, *shape])
    target = numpy_helper.from_array(np.array([-1, n_features], dtype=np.int64), "flat_shape")
    node = helper.make_node("Reshape", ["image", "flat_shape"], [old], name="flatten_image")
    graph.initializer.append(target)
    graph.node.insert(0, node)
    del graph.input[:]
    graph.input.append(new_input)
    return onx
