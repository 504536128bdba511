"""Look-alike publisher names."""

from __future__ import annotations

import pytest

from modelward.engine.collectors.lookalike import (
    WELL_KNOWN_PUBLISHERS,
    damerau_levenshtein,
    lookalike_of,
    skeleton,
)

TRUSTED = ["meta-llama", "microsoft", "google", "mistralai", "openai", "ibm-granite", "Qwen"]

IMITATIONS = {
    "meta-lIama": "meta-llama",  # capital I for l
    "meta-llarna": "meta-llama",  # rn for m
    "meta_llama": "meta-llama",  # another separator
    "metallama": "meta-llama",
    "metal-llama": "meta-llama",  # one letter more
    "rnicrosoft": "microsoft",
    "micros0ft": "microsoft",
    "microsfot": "microsoft",  # swapped letters
    "g00gle": "google",
    "googIe": "google",
    "gooogle": "google",
    "googel": "google",
    "mistra1ai": "mistralai",
    "mistral-ai": "mistralai",
    "0penai": "openai",
    "open-ai": "openai",
    "ibm-granlte": "ibm-granite",
    "lbm-granite": "ibm-granite",
    "Qvven": "Qwen",
    "QWEN": None,  # the trusted name itself, in other case
    "g\u043e\u043egle": "google",  # Cyrillic o
    "micr\u03bfsoft": "microsoft",  # Greek omicron
    "\uff47\uff4f\uff4f\uff47\uff4c\uff45": "google",  # full-width letters (NFKC)
    "m\u0456crosoft": "microsoft",  # Cyrillic i
}

DISTINCT = [
    "microsoft",
    "Microsoft",
    "google",
    "google-bert",
    "google-t5",
    "google-deepmind",
    "facebook",
    "FacebookAI",
    "openai-community",
    "stabilityai",
    "nvidia",
    "huggingface",
    "HuggingFaceTB",
    "HuggingFaceH4",
    "bigscience",
    "EleutherAI",
    "deepseek-ai",
    "allenai",
    "meta",
    "mistral",
    "QwenLM",
    "Qwen2",
    "ibm-research",
    "ibm",
    "sentence-transformers",
    "intfloat",
    "BAAI",
    "tiiuae",
    "Salesforce",
    "TheBloke",
    "unsloth",
    "NousResearch",
    "internlm",
    "OpenGVLab",
    "llava-hf",
    "laion",
    "openbmb",
    "jinaai",
    "nomic-ai",
    "Snowflake",
    "databricks",
    "black-forest-labs",
    "CompVis",
    "apple",
    "amazon",
    "Helsinki-NLP",
    "cardiffnlp",
    "bartowski",
    "mlx-community",
    "lmstudio-community",
]


@pytest.mark.parametrize(("name", "imitated"), sorted(IMITATIONS.items()))
def test_imitations_of_trusted_names_are_found(name: str, imitated: str | None) -> None:
    assert lookalike_of(name, TRUSTED) == imitated


@pytest.mark.parametrize("name", DISTINCT)
def test_distinct_organisations_are_not_lookalikes(name: str) -> None:
    assert lookalike_of(name, TRUSTED) is None


@pytest.mark.parametrize("name", DISTINCT)
def test_distinct_organisations_are_not_lookalikes_of_well_known_publishers(name: str) -> None:
    assert lookalike_of(name, (*TRUSTED, *WELL_KNOWN_PUBLISHERS)) is None


def test_well_known_publishers_do_not_imitate_each_other() -> None:
    for name in WELL_KNOWN_PUBLISHERS:
        assert lookalike_of(name, WELL_KNOWN_PUBLISHERS) is None, name


def test_a_trusted_lookalike_is_not_reported() -> None:
    assert lookalike_of("meta-llarna", ["meta-llama", "meta-llarna"]) is None


def test_short_names_must_look_the_same() -> None:
    assert lookalike_of("Qwan", ["Qwen"]) is None  # one edit away, but only four letters
    assert lookalike_of("Qvven", ["Qwen"]) == "Qwen"
    assert lookalike_of("ibn", ["ibm"]) is None


def test_longer_names_allow_two_edits() -> None:
    assert lookalike_of("ibm-grnaite", ["ibm-granite"]) == "ibm-granite"  # transposition
    assert lookalike_of("ibm-granitte", ["ibm-granite"]) == "ibm-granite"
    assert lookalike_of("ibm-graniet3", ["ibm-granite"]) == "ibm-granite"  # two edits
    assert lookalike_of("mistralia", ["mistralai"]) == "mistralai"
    assert lookalike_of("mistrlia", ["mistralai"]) is None  # two edits on nine letters
    assert lookalike_of("google", ["gagle"]) is None


def test_the_closest_trusted_name_is_named() -> None:
    assert lookalike_of("goggle", ["goggles", "google"]) in {"google", "goggles"}
    assert lookalike_of("googlf", ["google", "googlfx"]) == "google"


def test_empty_inputs() -> None:
    assert lookalike_of("", TRUSTED) is None
    assert lookalike_of("google", []) is None
    assert lookalike_of("g00gle", ["", " "]) is None


def test_skeleton_erases_what_readers_do_not_see() -> None:
    assert skeleton("Meta-LIama") == skeleton("meta_llama") == skeleton("meta.1lama")
    assert skeleton("rnicrosoft") == skeleton("microsoft")
    assert skeleton("vvizard") == skeleton("wizard")
    assert skeleton("g\u00f6ogle") == skeleton("google")  # accents are dropped


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("", "", 0), ("abc", "abc", 0), ("abc", "acb", 1), ("kitten", "sitting", 3), ("", "ab", 2)],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert damerau_levenshtein(a, b) == distance


def test_edit_distance_stops_at_the_limit() -> None:
    assert damerau_levenshtein("aaaaaaaa", "bbbbbbbb", limit=1) == 2
