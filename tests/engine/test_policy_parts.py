"""``split_problem``: which bundles may be evaluated as a model part and a request part."""

from __future__ import annotations

import pytest

from modelward.engine.errors import PolicyError
from modelward.engine.policy.bundle import PolicyBundle, RegoModule
from modelward.engine.policy.parts import split_problem


def with_module(source: str, path: str = "custom/x/policy.rego") -> PolicyBundle:
    bundle = PolicyBundle.builtin()
    bundle.modules = [*bundle.modules, RegoModule(path, source)]
    return bundle


def test_the_builtin_bundle_splits() -> None:
    assert split_problem(PolicyBundle.builtin()) is None


MODEL = "package modelward.policies.custom.x\n"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('deny contains 1 if input.context.namespace == "prod"', "reads input.context.namespace"),
        ("deny contains 1 if { some k; input[k] }", "reads input,"),
        ("deny contains 1 if { x := input; x.context }", "reads input,"),
        ("deny contains 1 if input.model.files[input.admission.k]", "reads input.admission.k"),
        ("deny contains 1 if input.admission.verdict.trusted", "reads input.admission.verdict"),
        ("deny contains 1 if time.now_ns() > 0", "calls time.now_ns"),
        ('deny contains 1 if http.send({"method": "get", "url": "x"})', "calls http.send"),
    ],
)
def test_a_model_policy_that_reads_more_than_the_model_does_not_split(
    body: str, problem: str
) -> None:
    found = split_problem(with_module(MODEL + body + "\n"))
    assert found is not None and found.startswith("custom/x/policy.rego:2 ")
    assert problem in found


def test_an_import_of_the_request_does_not_split() -> None:
    source = MODEL + "import input.context as c\n\ndeny contains 1 if c.namespace\n"
    assert "reads input.context" in str(split_problem(with_module(source)))


@pytest.mark.parametrize(
    "body",
    [
        "deny contains 1 if input.model.files[_].size > 0",
        'deny contains 1 if input.model["subject"].pinned == false',
        "deny contains 1 if { some k; input.model.scan[k] }",
    ],
)
def test_reading_below_input_model_splits(body: str) -> None:
    assert split_problem(with_module(MODEL + body + "\n")) is None


def test_the_admission_category_may_read_anything() -> None:
    source = (
        "package modelward.policies.admission.mine\n"
        "deny contains 1 if { input.context.namespace == 'x'; time.now_ns() > 0; input[_] }\n"
    ).replace("'x'", '"x"')
    assert split_problem(with_module(source, "admission/mine/policy.rego")) is None


def test_an_entry_package_without_the_parts_does_not_split() -> None:
    bundle = PolicyBundle.builtin()
    main = next(m for m in bundle.modules if m.path == "main/main.rego")
    old = "deny contains f if some f in request_deny\n"
    assert old in main.source
    bundle.modules = [m for m in bundle.modules if m is not main] + [
        RegoModule(main.path, main.source.replace("request_deny", "admission_deny"))
    ]
    assert split_problem(bundle) == "the bundle defines no data.modelward.main.request_deny rule"


def test_a_module_that_does_not_parse_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"custom/x/policy\.rego"):
        split_problem(with_module(MODEL + "deny contains if {\n"))
