"""The card collector on the shared model-card fixtures and on hostile or unusual cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelward.engine.collectors import CollectContext
from modelward.engine.collectors.card import (
    MAX_CARD_BYTES,
    CardCollector,
    card_title,
    parse_card,
)
from modelward.engine.facts import CardFacts
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve
from tests.bom.helpers import deny_ids, evaluate, facts_of, make_model, warn_ids


def card_of(model: Path) -> CardFacts:
    return CardCollector().collect(resolve(ModelRef.parse(str(model))), CollectContext())


def model_with_card(tmp_path: Path, text: str, name: str = "README.md") -> Path:
    return make_model(tmp_path / "model", {name: text, "config.json": "{}"})


def fixture_card(shared: Path, name: str) -> str:
    return (shared / "fixtures" / "hub" / "model-cards" / name).read_text(encoding="utf-8")


def test_simple_card_front_matter(shared: Path, tmp_path: Path) -> None:
    card = card_of(model_with_card(tmp_path, fixture_card(shared, "sample_simple.md")))
    assert card == CardFacts(
        present=True,
        path="README.md",
        license="mit",
        base_model=[],
        datasets=["beans"],
        tags=["pytorch", "image-classification"],
    )


def test_card_without_front_matter_is_present_and_empty(shared: Path, tmp_path: Path) -> None:
    card = card_of(model_with_card(tmp_path, fixture_card(shared, "sample_no_metadata.md")))
    assert card == CardFacts(present=True, path="README.md")


@pytest.mark.parametrize("name", ["sample_simple_model_index.md", "sample_invalid_model_index.md"])
def test_model_index_is_not_read_and_does_not_hide_the_front_matter(
    shared: Path, tmp_path: Path, name: str
) -> None:
    # sample_invalid_model_index.md fails the hub's eval-results parsing; the fields the
    # policies read are still in its front matter.
    card = card_of(model_with_card(tmp_path, fixture_card(shared, name)))
    assert (card.license, card.datasets, card.tags) == (
        "mit",
        ["beans"],
        ["pytorch", "image-classification"],
    )


def test_packaged_all_minilm_card(shared: Path, tmp_path: Path) -> None:
    text = (shared / "fixtures/hub/packaged-model-all-MiniLM-L6-v2/README.md").read_text()
    card = card_of(model_with_card(tmp_path, text))
    assert card.license == "apache-2.0"
    assert len(card.datasets) == 21 and card.datasets[0] == "s2orc"
    assert "sentence-transformers" in card.tags
    document = parse_card("README.md", text)
    assert card_title(document) == "all-MiniLM-L6-v2"
    assert document.front_matter["pipeline_tag"] == "sentence-similarity"


def test_malformed_yaml_is_present_with_nothing_extracted(tmp_path: Path) -> None:
    text = "---\nlicense: mit\ntags: [unclosed\n---\n# m\n"
    assert card_of(model_with_card(tmp_path, text)) == CardFacts(present=True, path="README.md")
    document = parse_card("README.md", text)
    assert document.error is not None and document.error.startswith("invalid YAML front matter")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("---\nlicense: mit\n# never closed\n", "no closing"),
        ("---\n- a\n- b\n---\n", "not a YAML mapping"),
        ("---\n!!python/object/apply:os.system ['true']\n---\n", "invalid YAML"),
    ],
)
def test_unusable_front_matter(tmp_path: Path, text: str, error: str) -> None:
    assert card_of(model_with_card(tmp_path, text)) == CardFacts(present=True, path="README.md")
    document = parse_card("README.md", text)
    assert document.error is not None and error in document.error


def test_scalar_and_list_values(tmp_path: Path) -> None:
    text = (
        "---\nlicense: [mit, cc-by-4.0]\nbase_model: org/base\ndatasets: squad\n"
        "tags: [a, 1, {x: y}, null, a]\n---\n"
    )
    card = card_of(model_with_card(tmp_path, text))
    assert card.license == "mit AND cc-by-4.0"
    assert card.base_model == ["org/base"]
    assert card.datasets == ["squad"]
    assert card.tags == ["a", "1"]


def test_alternative_card_names(tmp_path: Path) -> None:
    card = card_of(model_with_card(tmp_path, "---\nlicense: mit\n---\n", name="model_card.md"))
    assert (card.present, card.path, card.license) == (True, "model_card.md", "mit")


def test_readme_wins_and_nested_readmes_are_not_cards(tmp_path: Path) -> None:
    model = make_model(
        tmp_path / "m",
        {
            "README.md": "---\nlicense: mit\n---\n",
            "MODEL_CARD.md": "---\nlicense: gpl-3.0\n---\n",
            "sub/README.md": "---\nlicense: gpl-3.0\n---\n",
        },
    )
    assert card_of(model).license == "mit"
    nested = make_model(tmp_path / "n", {"sub/README.md": "---\nlicense: mit\n---\n"})
    assert card_of(nested) == CardFacts(present=False)


def test_only_the_first_mebibyte_is_read(tmp_path: Path) -> None:
    huge = "---\nlicense: mit\nnote: '" + "x" * MAX_CARD_BYTES + "'\n---\n"
    assert card_of(model_with_card(tmp_path, huge)) == CardFacts(present=True, path="README.md")
    after = "---\nlicense: mit\n---\n" + "y" * (2 * MAX_CARD_BYTES)
    assert card_of(model_with_card(tmp_path / "2", after)).license == "mit"


def test_single_file_model_has_no_card(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    assert card_of(weights) == CardFacts(present=False)


def test_card_policies_on_collected_facts(tmp_path: Path) -> None:
    no_card = make_model(tmp_path / "bare", {"config.json": "{}"})
    facts = facts_of(no_card)
    assert facts.card == CardFacts(present=False)
    assert "model-card-missing" in warn_ids(evaluate(facts))
    assert "model-card-required" in deny_ids(evaluate(facts, require_model_card=True))

    carded = facts_of(make_model(tmp_path / "carded", {"README.md": "---\nlicense: mit\n---\n"}))
    decision = evaluate(carded, require_model_card=True)
    assert not {"model-card-required", "model-card-missing"} & (
        deny_ids(decision) | warn_ids(decision)
    )


def test_licence_policies_on_collected_card_facts(tmp_path: Path) -> None:
    gpl = facts_of(make_model(tmp_path / "gpl", {"README.md": "---\nlicense: gpl-3.0\n---\n"}))
    assert "license-not-allowed" in deny_ids(evaluate(gpl))
    silent = facts_of(make_model(tmp_path / "silent", {"README.md": "# no front matter\n"}))
    assert "license-unknown" in warn_ids(evaluate(silent))
