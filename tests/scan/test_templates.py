"""Chat templates: judged by what Jinja would do, never rendered.

Every bypass family of a template injection is high however the name is built; templates in the
style of the common model families are at most low; hostile templates and template files give
findings, never an exception. GGUF files are built byte by byte, template files written as text.
"""

from __future__ import annotations

import io
import json

import pytest

from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.templates import files as templates
from modelward.engine.scan.templates.check import TemplateIssue, _environment, template_issues
from modelward.engine.scan.templates.flow import Flow
from modelward.engine.scan.templates.rules import judge
from tests.scan import builders as b
from tests.scan.scanning import SEVERITY, Scan
from tests.scan.template_samples import BENIGN, LOW_ONLY

RANK = {"none": -1, **SEVERITY}


def worst(issues: list[TemplateIssue]) -> str:
    return max((i.severity for i in issues), key=RANK.__getitem__, default="none")


def kinds(issues: list[TemplateIssue]) -> set[str]:
    return {i.id.rsplit(".", 1)[1] for i in issues}


# ---------------------------------------------------------------- names the sandbox refuses

LITERAL = {
    "dunder_attr": "{{ x.__class__ }}",
    "dunder_item": "{{ x['__globals__'] }}",
    "escaped_item": "{{ self['\\x5f\\x5fdict\\x5f\\x5f'] }}",
    "private_attr": "{{ x._secret }}",
    "template_reference": "{{ self._TemplateReference__context }}",
    "mro": "{{ ''.__class__.mro() }}",
    "mro_plain": "{{ x.mro }}",
    "generator_frame": "{{ x.gi_frame.f_globals }}",
    "coroutine_frame": "{{ x.cr_frame }}",
    "async_generator_code": "{{ x.ag_code }}",
    "frame_globals": "{{ x.f_globals }}",
    "traceback_frame": "{{ x.tb_frame }}",
    "py2_function": "{{ x.func_globals }}",
    "namespace_store": "{% set ns = namespace(a=1) %}{% set ns.__class__ = 1 %}",
    "attr_filter": "{{ lipsum|attr('__globals__') }}",
    "map_attribute": "{{ items|map(attribute='__class__')|list }}",
    "map_attribute_dotted": "{{ items|map(attribute='role.__class__')|list }}",
    "selectattr": "{{ items|selectattr('__class__')|list }}",
    "rejectattr": "{{ items|rejectattr('__init__')|list }}",
    "sort_attribute": "{{ items|sort(attribute='__class__') }}",
    "groupby": "{{ items|groupby('__class__') }}",
    "sum_attribute": "{{ items|sum(attribute='__class__') }}",
    "unique_attribute": "{{ items|unique(attribute='__class__')|list }}",
    "min_attribute": "{{ items|min(attribute='__class__') }}",
    "join_attribute": "{{ items|join(',', '__class__') }}",
    "map_attr_filter": "{{ [lipsum]|map('attr', '__globals__')|list }}",
    "map_attr_keyword": "{{ items|map('attr', name='__class__')|list }}",
    "map_of_map": "{{ items|map('map', 'attr', '__class__')|list }}",
    "map_selectattr": "{{ items|map('selectattr', '__class__')|list }}",
    "filter_block": "{% filter attr('__class__') %}x{% endfilter %}",
    "range_self": "{{ range.__self__ }}",
}


@pytest.mark.parametrize("source", LITERAL.values(), ids=LITERAL.keys())
def test_literal_refused_names_are_high(source: str) -> None:
    issues = template_issues(source)
    assert worst(issues) == "high", issues
    assert "ssti" in kinds(issues)


# ---------------------------------------------------------------- names built at render time

BUILT = {
    "tilde": "{{ x['__cla' ~ 'ss__'] }}",
    "plus": "{{ lipsum['__glob' + 'als__'] }}",
    "set": "{% set a = '__cla' ~ 'ss__' %}{{ x[a] }}",
    "set_then_attr": "{% set n = '_' * 2 %}{{ x|attr(n ~ 'class' ~ n) }}",
    "set_block": "{% set k %}__globals__{% endset %}{{ lipsum[k] }}",
    "set_block_filter": "{% set k | lower %}__GLOBALS__{% endset %}{{ lipsum[k] }}",
    "tuple_set": "{% set a, b = '__glo', 'bals__' %}{{ lipsum[a ~ b] }}",
    "with": "{% with k = '__globals__' %}{{ lipsum[k] }}{% endwith %}",
    "join_list": "{{ x[['__', 'class', '__']|join] }}",
    "join_method": "{{ x[''.join(['__', 'class', '__'])] }}",
    "join_separator": "{{ x[['', 'class', '']|join('__')] }}",
    "percent_filter": "{{ x['%sclass%s'|format('__', '__')] }}",
    "percent_operator": "{{ x['%sclass%s' % ('__', '__')] }}",
    "format_method": "{{ x['{0}class{0}'.format('__')] }}",
    "lower": "{{ lipsum['__GLOBALS__'|lower] }}",
    "upper_then_lower": "{{ lipsum['__globals__'|upper|lower] }}",
    "reverse": "{{ lipsum['__slabolg__'|reverse] }}",
    "replace": "{{ lipsum['XXglobalsXX'|replace('X', '_')] }}",
    "replace_method": "{{ lipsum['XXglobalsXX'.replace('X', '_')] }}",
    "trim": "{{ lipsum['  __globals__ '|trim] }}",
    "strip_method": "{{ lipsum['  __globals__ '.strip()] }}",
    "first_of_list": "{{ x[['__class__', 'a']|first] }}",
    "last_of_list": "{{ x[['a', '__class__']|last] }}",
    "map_lower": "{{ x[['__CLASS__']|map('lower')|first] }}",
    "list_index": "{% set k = ['__glo', 'bals__'] %}{{ lipsum[k[0] ~ k[1]] }}",
    "split": "{% set p = 'a.__globals__'.split('.') %}{{ lipsum[p[1]] }}",
    "slice": "{{ lipsum['__globals__xyz'[:-3]] }}",
    "dict_attr": "{% set m = {'a': '__globals__'} %}{{ lipsum[m.a] }}",
    "dict_item": "{% set m = {'a': '__globals__'} %}{{ lipsum[m['a']] }}",
    "dict_call": "{{ lipsum[dict(a='__globals__').a] }}",
    "dict_items_unpacking": (
        "{% for k, v in {'a': '__globals__'}.items() %}{{ lipsum[v] }}{% endfor %}"
    ),
    "dict_items_filter": "{% for k, v in {'a': '__init__'}|items %}{{ x[v] }}{% endfor %}",
    "dict_keys": "{% for k in {'__class__': 1} %}{{ x[k] }}{% endfor %}",
    "dictsort": "{% for k, v in {'b': '__class__'}|dictsort %}{{ x[v] }}{% endfor %}",
    "loop_over_list": "{% for k in ['role', '__class__'] %}{{ x[k] }}{% endfor %}",
    "loop_building": (
        "{% set ns = namespace(n='') %}{% for c in ['_', '_', 'globals', '_', '_'] %}"
        "{% set ns.n = ns.n ~ c %}{% endfor %}{{ lipsum[ns.n] }}"
    ),
    "loop_cycle": "{% for i in [1] %}{{ lipsum[loop.cycle('__globals__')] }}{% endfor %}",
    "macro_argument": "{% macro g(o, n) %}{{ o[n] }}{% endmacro %}{{ g(lipsum, '__globals__') }}",
    "macro_keyword": "{% macro g(o, n='a') %}{{ o[n] }}{% endmacro %}{{ g(lipsum, n='__init__') }}",
    "macro_default": "{% macro g(o, n='__init__') %}{{ o|attr(n) }}{% endmacro %}{{ g(x) }}",
    "call_block": (
        "{% macro g(n) %}{{ x[n] }}{{ caller() }}{% endmacro %}"
        "{% call g('__class__') %}{% endcall %}"
    ),
    "namespace_init": "{% set ns = namespace(k='__globals__') %}{{ lipsum[ns.k] }}",
    "namespace_set": (
        "{% set ns = namespace(k='') %}{% set ns.k = '__globals__' %}{{ lipsum[ns['k']] }}"
    ),
    "default_filter": "{{ lipsum[y|default('__globals__')] }}",
    "conditional": "{{ lipsum['role' if y else '__globals__'] }}",
    "or_operator": "{{ lipsum[y or '__globals__'] }}",
    "rebound_loop": "{% set loop = {'index': '__class__'} %}{{ x[loop.index] }}",
    "unpack_dict_keys": "{% set a, b = {'__class__': 1, 'y': 2} %}{{ x[a] }}",
    "int_default": "{{ x[y|int(default='__class__')] }}",
    "set_after_read": "{% macro g() %}{{ x[k] }}{% endmacro %}{% set k = '__class__' %}{{ g() }}",
}


@pytest.mark.parametrize("source", BUILT.values(), ids=BUILT.keys())
def test_names_built_at_render_time_are_high(source: str) -> None:
    issues = template_issues(source)
    assert worst(issues) == "high", issues
    assert "'_" in " ".join(i.reason for i in issues)


# ---------------------------------------------------------------- keys known only at render time

OPAQUE_USED = {
    "chained_item": "{{ lipsum[messages[0].content]['os'] }}",
    "chained_attr": "{{ x[y].z }}",
    "called": "{{ x[y]() }}",
    "attr_filter_on_it": "{{ x[y]|attr('z') }}",
    "map_on_it": "{{ x[y]|map(attribute='z')|list }}",
    "through_set": "{% set f = x[y] %}{{ f.z }}",
    "through_two_sets": "{% set f = x[y] %}{% set g = f %}{{ g['os'] }}",
    "through_for": "{% for v in x[y] %}{{ v.z }}{% endfor %}",
    "through_for_neighbours": "{% for v in x[y] %}{{ loop.previtem }}{% endfor %}",
    "through_or": "{{ (x[y] or z).w }}",
    "through_first": "{{ (x[y]|first).w }}",
    "through_default": "{{ (z|default(x[y])).w }}",
    "through_list": "{% for a in [lipsum[k]] %}{{ a.b }}{% endfor %}",
    "through_dict": "{% set d = {'a': lipsum[k]} %}{{ d.a.get('os') }}",
    "through_namespace_init": "{% set ns = namespace(v=x[y]) %}{{ ns.v.w }}",
    "through_namespace_set": (
        "{% set ns = namespace(x=none) %}{% set ns.x = lipsum[k] %}{{ ns.x['os'] }}"
    ),
    "through_namespace_list": (
        "{% set ns = namespace(v=[]) %}{% set ns.v = ns.v + [lipsum[k]] %}{{ ns.v[0].get('os') }}"
    ),
    "through_macro": "{% macro m(a) %}{{ a.b }}{% endmacro %}{{ m(x[y]) }}",
    "through_macro_keyword": "{% macro m(a=1) %}{{ a.b }}{% endmacro %}{{ m(a=x[y]) }}",
    "through_macro_default": "{% macro m(a=lipsum[k]) %}{{ a.b }}{% endmacro %}{{ m() }}",
    "through_with": "{% with v = x[y] %}{{ v.w }}{% endwith %}",
    "stored_by_append": "{% set l = [] %}{% do l.append(lipsum[k]) %}{{ l[0].get('os') }}",
    "returned_by_get": "{{ {}.get('a', lipsum[k]).get('os') }}",
    "passed_to_unknown_call": "{{ foo(x[y]) }}",
    "attr_by_variable": "{% set n = messages[0].content %}{{ (lipsum|attr(n)).get('os') }}",
    "attr_by_variable_alone": "{{ x|attr(y) }}",
    "map_attribute_variable": "{{ x|map(attribute=y)|list }}",
    "map_attr_variable": "{{ [lipsum]|map('attr', y)|list }}",
    "map_filter_variable": "{{ x|map(y)|list }}",
    "selectattr_variable": "{{ x|selectattr(y)|list }}",
    "sort_variable": "{{ x|sort(attribute=y) }}",
    "groupby_variable": "{{ x|groupby(y) }}",
    "context_override": (
        "{% if k is not defined %}{% set k = 'role' %}{% endif %}{{ lipsum[k]['os'] }}"
    ),
    "read_before_set": "{{ lipsum[k]['os'] }}{% set k = 'role' %}",
    "recursive_loop": (
        "{% for k in ['a'] recursive %}{{ lipsum[k]['os'] }}{{ loop(['__globals__']) }}{% endfor %}"
    ),
    "format_fields": "{{ '{0.__init__.__globals__}'.format(lipsum) }}",
    "format_on_data": "{{ messages[0].content.format(lipsum) }}",
    "format_kept": "{% set f = '{0.__init__}'.format %}{{ f(x) }}",
    "format_by_item": "{{ x['format'](y) }}",
    "format_map": "{{ s.format_map(d) }}",
    "int_default_passes_it_on": "{{ (y|int(lipsum[k]))['os'] }}",
}

#: Ways to change a folded value behind the analysis' back: they make it unknown, not stale.
CHANGED_IN_PLACE = {
    "namespace_alias": (
        "{% set ns = namespace(k='role') %}{% set ns2 = ns %}{% set ns2.k = '__globals__' %}"
        "{{ lipsum[ns.k]['os'] }}"
    ),
    "namespace_in_macro": (
        "{% set ns = namespace(k='role') %}{% macro m(n) %}{% set n.k = '__globals__' %}"
        "{% endmacro %}{{ m(ns) }}{{ lipsum[ns.k]['os'] }}"
    ),
    "dict_update": (
        "{% set m = {'k': 'role'} %}{% do m.update({'k': '__globals__'}) %}{{ lipsum[m.k]['os'] }}"
    ),
    "dict_update_by_attr": (
        "{% set m = {'k': 'role'} %}{% set _ = (m|attr('upd' ~ 'ate'))({'k': '__init__'}) %}"
        "{{ lipsum[m.k]['os'] }}"
    ),
    "list_append": (
        "{% set l = ['role'] %}{% set _ = l.append('__globals__') %}{{ lipsum[l|last]['os'] }}"
    ),
    "list_insert": (
        "{% set l = ['role'] %}{% set _ = l.insert(0, '__init__') %}"
        "{% for k in l %}{{ lipsum[k]['os'] }}{% endfor %}"
    ),
}


@pytest.mark.parametrize("source", CHANGED_IN_PLACE.values(), ids=CHANGED_IN_PLACE.keys())
def test_values_changed_in_place_are_not_trusted(source: str) -> None:
    assert worst(template_issues(source)) == "high"


@pytest.mark.parametrize("source", OPAQUE_USED.values(), ids=OPAQUE_USED.keys())
def test_values_read_by_an_open_key_and_used_as_objects_are_high(source: str) -> None:
    issues = template_issues(source)
    assert worst(issues) == "high", issues


OPAQUE_PRINTED = {
    "printed": "{{ x[y] }}",
    "tested": "{% if x[y] is defined %}a{% endif %}",
    "compared": "{{ x[y] == 'a' }}",
    "serialised": "{{ x[y]|tojson }}",
    "stringified": "{{ (x[y] ~ '').z }}",
    "length": "{{ x[y]|length }}",
    "concatenated": "{{ 'a' + x[y] + 'b' }}",
    "conditional": "{{ x[y] if y in x else '' }}",
    "set_then_printed": "{% set v = x[y] %}{{ v }}{{ v|string }}",
    "namespace_then_printed": "{% set ns = namespace(v=x[y]) %}{{ ns.v }}",
    "macro_then_printed": "{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m(x[y]) }}",
    "raise": "{{ raise_exception(x[y]) }}",
    "method_argument": "{{ s.startswith(x[y]) }}",
    "format_item_printed": "{% if 'format' in p %}{{ p['format'] }}{% endif %}",
}


@pytest.mark.parametrize("source", OPAQUE_PRINTED.values(), ids=OPAQUE_PRINTED.keys())
def test_values_read_by_an_open_key_and_only_printed_are_low(source: str) -> None:
    issues = template_issues(source)
    assert worst(issues) in ("none", "low"), issues


# ---------------------------------------------------------------- keys that cannot name attributes

NUMBER_KEYS = {
    "int": "{{ messages[0]['role'] }}",
    "negative": "{{ messages[-1].content }}",
    "slice": "{% for m in messages[1:] %}{{ m.content }}{% endfor %}",
    "loop_index": "{% for m in messages %}{{ messages[loop.index0 - 1].role }}{% endfor %}",
    "loop_index_plus": "{% for m in messages %}{{ messages[loop.index0 + 1].role }}{% endfor %}",
    "loop_revindex": "{% for m in messages %}{{ messages[loop.revindex0].role }}{% endfor %}",
    "range": "{% for i in range(messages|length) %}{{ messages[i].role }}{% endfor %}",
    "length": "{{ messages[messages|length - 1].role }}",
    "int_filter": "{{ messages[(y|int)].role }}",
    "namespace_int": (
        "{% set ns = namespace(i=-1) %}{% for m in messages %}{% set ns.i = loop.index0 %}"
        "{% endfor %}{{ messages[ns.i].role }}"
    ),
    "set_arithmetic": "{% set i = n - 1 %}{{ tool_calls[i].function.name }}",
    "literal_keys": "{% for k in ['content', 'reasoning'] %}{{ message[k].strip() }}{% endfor %}",
    "literal_pairs": (
        "{% for f, label in [('maximum', 'Max'), ('minimum', 'Min')] %}"
        "{% if f in p %}{{ label ~ '=' ~ p[f] }}{% endif %}{% endfor %}"
    ),
    "format_literal": "{% set t = '' %}{% set eos = '<|eos{}|>'.format(t) %}{{ eos }}",
    "format_named": "{{ '<{name}>'.format(name=x) }}",
    "namespace_call": (
        "{% set ns = namespace(found=false) %}{% set ns.found = true %}{{ ns.found }}"
    ),
}


@pytest.mark.parametrize("source", NUMBER_KEYS.values(), ids=NUMBER_KEYS.keys())
def test_number_and_literal_keys_are_clean(source: str) -> None:
    assert template_issues(source) == []


# ---------------------------------------------------------------- real-world shapes


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_family_templates_have_no_findings(name: str) -> None:
    assert template_issues(BENIGN[name]) == []


@pytest.mark.parametrize("name", sorted(LOW_ONLY))
def test_family_templates_with_lookups_are_at_most_low(name: str) -> None:
    issues = template_issues(LOW_ONLY[name])
    assert issues and worst(issues) == "low", issues


def test_mutation_is_low_and_loaders_medium() -> None:
    mutation = template_issues("{% set ns = namespace(ids=[]) %}{% set _ = ns.ids.append(1) %}")
    assert kinds(mutation) == {"mutation"} and worst(mutation) == "low"
    for source in ("{% include 'x.jinja' %}", "{% import 'x' as y %}", "{% extends 'b' %}"):
        assert worst(template_issues(source)) == "medium"
        assert "include" in kinds(template_issues(source))


def test_internal_names_from_the_context_are_medium() -> None:
    issues = template_issues("{{ __builtins__ }}")
    assert kinds(issues) == {"internal_name"} and worst(issues) == "medium"
    assert template_issues("{% macro __render() %}x{% endmacro %}{{ __render() }}") == []


def test_messages_name_the_line_and_the_expression() -> None:
    (issue,) = template_issues("\n\n{{ x[y].z }}")
    assert issue.id == "gguf.chat_template.dynamic_attribute"
    assert "line 3" in issue.reason and "x[y]" in issue.reason and "'z'" in issue.reason
    assert template_issues("{{ x.__class__ }}", "template")[0].id == "template.ssti"


# ---------------------------------------------------------------- hostile templates


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("x" * (1 << 20) + "{{ y }}", "too_large"),
        ("{% for %}", "unparsable"),
        ("{{ x[ }}", "unparsable"),
        ("{{ x }}" * 20_000, "too_complex"),
        ("{{ " + "(" * 3000 + "x" + ")" * 3000 + " }}", "unparsable"),
        ("{% if x %}" * 600 + "{% endif %}" * 600, "unparsable"),
        ("{{ " + "-" * 40_000 + "x }}", "unparsable"),
    ],
    ids=["huge", "broken_for", "broken_expr", "many_tokens", "parens", "ifs", "unary"],
)
def test_hostile_templates_are_incomplete_findings(source: str, kind: str) -> None:
    issues = template_issues(source)
    assert [i.incomplete for i in issues] == [True] and worst(issues) == "medium", issues
    assert kinds(issues) in ({kind}, {"unparsable"}, {"too_complex"})


def test_deep_but_parsable_expressions_are_judged() -> None:
    issues = template_issues("{{ x" + "[y]" * 150 + " }}")
    assert worst(issues) == "high"
    nested = template_issues("{{ " + "-" * 150 + "x }}")
    assert nested == [] or worst(nested) == "medium"


def test_value_budget_widens_instead_of_failing() -> None:
    chain = "".join(f"{{% set a{i} = a{i + 1} %}}" for i in range(200))
    source = chain + "{% set a200 = 'role' %}{{ x[a0].y }}"
    tree = _environment().parse(source)
    issues = judge(Flow(tree, max_nodes=100_000, max_steps=50))
    assert any(i.severity == "high" for i in issues)
    assert worst(template_issues(source)) == "high"  # 200 steps back: not folded in time


def test_long_fixpoints_keep_the_names_they_found() -> None:
    growing = (
        "{% set ns = namespace(s='') %}{% for c in ['a', 'b', '_'] %}"
        + "{% set ns.s = ns.s ~ c %}" * 50
        + "{% endfor %}{{ x[ns.s] }}"
    )
    assert worst(template_issues(growing)) == "high"


# ---------------------------------------------------------------- GGUF end to end


def _gguf(**templates: str) -> bytes:
    meta: dict[str, str | int] = {"general.architecture": "llama", "general.alignment": 32}
    meta.update({f"tokenizer.chat_template{k}": v for k, v in templates.items()})
    return b.gguf_bytes(meta, [("t", [4, 4], 0, 0)])


def test_gguf_with_family_templates_is_clean(scan: Scan) -> None:
    data = _gguf(**{"": BENIGN["qwen25_tools"], ".tool_use": BENIGN["llama31_tools"]})
    scanned = scan(data, "m.gguf")
    assert scanned.fmt == "gguf" and scanned.result.findings == [] and scanned.result.complete


@pytest.mark.parametrize(
    "source",
    [BUILT["set"], BUILT["dict_items_unpacking"], OPAQUE_USED["through_macro"], LITERAL["mro"]],
    ids=["set", "items", "macro", "mro"],
)
def test_gguf_bypasses_are_high(source: str, scan: Scan) -> None:
    scanned = scan(_gguf(**{"": BENIGN["chatml"], ".rag": source}), "m.gguf")
    assert scanned.worst == SEVERITY["high"]
    assert all(
        f.message.startswith("m.gguf: tokenizer.chat_template.rag") for f in scanned.result.findings
    )


def test_gguf_payloads_never_run(scan: Scan, canary: str) -> None:
    payloads = [
        f"{{{{ cycler.__init__.__globals__.os.popen('touch {canary}').read() }}}}",
        f"{{% set g = '__glo' ~ 'bals__' %}}{{{{ lipsum[g]['os'].popen('touch {canary}') }}}}",
        f"{{{{ lipsum[messages[0].content]['os'].popen('touch {canary}') }}}}",
    ]
    for payload in payloads:
        assert scan(_gguf(**{"": payload}), "m.gguf").worst == SEVERITY["high"]


def test_gguf_with_too_many_templates_is_incomplete(scan: Scan) -> None:
    data = _gguf(**{f".t{i}": "{{ messages[0].content }}" for i in range(20)})
    scanned = scan(data, "m.gguf")
    assert "gguf.chat_template.too_many" in scanned.ids and not scanned.result.complete


def test_gguf_unparsable_template_is_incomplete(scan: Scan) -> None:
    scanned = scan(_gguf(**{"": "{% generation %}{{ x }}"}), "m.gguf")
    assert "gguf.chat_template.unparsable" in scanned.ids and not scanned.result.complete
    extended = scan(_gguf(**{"": BENIGN["generation_and_break"]}), "m.gguf")
    assert extended.result.findings == []


# ---------------------------------------------------------------- template files


def _nested(depth: int) -> object:
    value: object = "{{ x }}"
    for _ in range(depth):
        value = [value]
    return value


def _named(index: int) -> dict[str, str]:
    return {"name": str(index), "template": "{{ x }}"}


def _config(scan: Scan, document: object, name: str = "tokenizer_config.json") -> Scan:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return scan(raw, name)


def test_tokenizer_config_string_template(scan: Scan) -> None:
    clean = _config(scan, {"chat_template": BENIGN["mistral_tools"], "bos_token": "<s>"})
    assert clean.result.findings == [] and clean.result.complete
    bad = _config(scan, {"chat_template": BUILT["join_list"]})
    assert bad.worst == SEVERITY["high"] and "template.ssti" in bad.ids
    assert "chat_template line 1" in bad.result.findings[0].message


def test_tokenizer_config_named_templates(scan: Scan) -> None:
    document = {
        "chat_template": [
            {"name": "default", "template": BENIGN["chatml"]},
            {"name": "tool_use", "template": OPAQUE_USED["through_set"]},
            {"name": "rag", "template": 7},
        ]
    }
    scanned = _config(scan, document)
    assert scanned.worst == SEVERITY["high"]
    messages = " ".join(f.message for f in scanned.result.findings)
    assert "chat_template[tool_use]" in messages and "chat_template[rag] has no string" in messages


def test_every_duplicate_key_is_judged(scan: Scan) -> None:
    raw = b'{"chat_template": "{{ x.__class__ }}", "chat_template": "{{ messages[0].role }}"}'
    assert _config(scan, raw).worst == SEVERITY["high"]


def test_dict_templates_and_other_jinja_strings(scan: Scan) -> None:
    as_dict = _config(
        scan, {"chat_template": {"default": LITERAL["dunder_attr"]}}, "chat_template.json"
    )
    assert as_dict.worst == SEVERITY["high"]
    other = _config(scan, {"processor": {"prompt": BUILT["lower"]}, "eos": "{{"})
    assert other.worst == SEVERITY["high"] and other.result.complete
    assert "template.not_a_template" in other.ids  # "{{" alone: noted, never incomplete


@pytest.mark.parametrize(
    ("document", "finding"),
    [
        ({"chat_template": 5}, "template.unexpected"),
        ({"chat_template": None}, "template.unexpected"),
        ({"chat_template": ["{{ x }}"]}, "template.unexpected"),
    ],
)
def test_chat_template_of_an_unexpected_type_is_noted(
    document: object, finding: str, scan: Scan
) -> None:
    scanned = _config(scan, document)
    assert finding in scanned.ids and scanned.worst == SEVERITY["low"]


@pytest.mark.parametrize(
    ("raw", "finding"),
    [
        (b'{"chat_template": "\xff\xfe{{ x }}"}', "template.undecodable"),
        (b'{"chat_template": "{{ x }}"', "template.bad_json"),
        (json.dumps({"a": _nested(70)}).encode(), "template.too_deep"),
        (b"{{ x }}" + b" " * 4096, "template.too_large"),
        (
            json.dumps({"chat_template": [_named(i) for i in range(40)]}).encode(),
            "template.too_many",
        ),
    ],
    ids=["invalid_utf8", "truncated", "deep_walk", "too_large", "too_many"],
)
def test_hostile_template_files_are_incomplete(
    raw: bytes, finding: str, scan: Scan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(templates, "MAX_FILE_BYTES", 4000)
    scanned = scan(raw, "tokenizer_config.json")
    assert finding in scanned.ids and not scanned.result.complete, scanned.result.findings


def test_json_nested_past_the_parser_is_incomplete() -> None:
    ctx = ScanContext.top("tokenizer_config.json")
    raw = b"[" * 5_000 + b"]" * 5_000
    result = templates.scan_template_file(io.BytesIO(raw), len(raw), ctx)
    ids = {f.id for f in result.findings}
    assert "template.bad_json" in ids and not result.complete


def test_jinja_files(scan: Scan) -> None:
    assert scan(BENIGN["gemma"].encode(), "chat_template.jinja").result.findings == []
    bad = scan(OPAQUE_USED["chained_item"].encode(), "additional_chat_templates/tool.jinja2")
    assert bad.worst == SEVERITY["high"]
    assert "tool.jinja2 line 1" in bad.result.findings[0].message
    broken = scan(b"{% if %}", "chat_template.jinja")
    assert "template.unparsable" in broken.ids and not broken.result.complete


def test_template_named_file_is_also_scanned_as_its_content(scan: Scan, canary: str) -> None:
    scanned = scan(b.system_pickle(canary), "tokenizer_config.json")
    assert scanned.worst >= SEVERITY["high"], scanned.result.findings
    assert "template.bad_json" in scanned.ids or "template.undecodable" in scanned.ids
