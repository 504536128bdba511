"""Verdict signing and checking: DSSE envelopes, key ids, and every way a check must fail."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from modelward.engine.verdicts.keys import load_private_key, read_private_key, write_keypair
from modelward.engine.verdicts.signed import (
    PAYLOAD_TYPE,
    SignedVerdict,
    Verdict,
    VerdictError,
    VerdictKeys,
    VerdictSigner,
    generate_keypair,
    sign_verdict,
)
from tests.engine.verdict_builders import (
    REFERENCE,
    flip_payload_byte,
    make_verdict,
    signed,
    with_envelope,
)


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture(scope="module")
def other_pair() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture
def keys(pair: tuple[bytes, bytes]) -> VerdictKeys:
    return VerdictKeys.from_pems([pair[1]])


def spki_key_id(public_pem: bytes) -> str:
    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def dsse_sign(private_pem: bytes, payload: bytes, payload_type: str) -> dict[str, Any]:
    """An envelope signed by hand with securesystemslib, under our key id."""
    private = serialization.load_pem_private_key(private_pem, None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = SSlibKey.from_crypto(
        private.public_key(), keyid=spki_key_id(public_pem), scheme="ecdsa-sha2-nistp256"
    )
    envelope = Envelope(payload, payload_type, {})
    envelope.sign(CryptoSigner(private, key))
    return envelope.to_dict()


# --- keys --------------------------------------------------------------------------------------


def test_generated_keys_are_p256_and_the_key_id_is_the_spki_digest(
    pair: tuple[bytes, bytes],
) -> None:
    private_pem, public_pem = pair
    private = serialization.load_pem_private_key(private_pem, None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(private.curve, ec.SECP256R1)
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert VerdictKeys.from_pems([public_pem]).key_ids == [spki_key_id(public_pem)]
    assert generate_keypair()[1] != public_pem


def test_envelope_is_standard_dsse_verifiable_without_modelward(pair: tuple[bytes, bytes]) -> None:
    private_pem, public_pem = pair
    result = sign_verdict(make_verdict(), private_pem)
    envelope = result.envelope
    assert envelope["payloadType"] == PAYLOAD_TYPE
    assert [s["keyid"] for s in envelope["signatures"]] == [spki_key_id(public_pem)]
    payload = base64.b64decode(envelope["payload"])
    assert json.loads(payload)["schema"] == "modelward.dev/verdict/v1"
    assert json.loads(payload)["reference"] == REFERENCE
    # DSSE v1 pre-authentication encoding, verified with plain cryptography
    pae = b"DSSEv1 %d %b %d %b" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)
    public = serialization.load_pem_public_key(public_pem)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        base64.b64decode(envelope["signatures"][0]["sig"]), pae, ec.ECDSA(hashes.SHA256())
    )
    assert (result.reference, result.outcome, result.key_id) == (
        REFERENCE, "allow", spki_key_id(public_pem),
    )  # fmt: skip


def test_encrypted_private_key_needs_its_password() -> None:
    private_pem, public_pem = generate_keypair(b"correct horse")
    assert private_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(VerdictError, match="MODELWARD_KEY_PASSWORD"):
        sign_verdict(make_verdict(), private_pem)
    with pytest.raises(VerdictError):
        sign_verdict(make_verdict(), private_pem, b"wrong")
    result = sign_verdict(make_verdict(), private_pem, b"correct horse")
    assert VerdictKeys.from_pems([public_pem]).check(result, REFERENCE).trusted


def test_read_private_key_takes_the_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private, _, kid = write_keypair(tmp_path, password=b"s3cret")
    monkeypatch.setenv("MODELWARD_KEY_PASSWORD", "s3cret")
    assert private.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert read_private_key(private).curve.name == "secp256r1"
    monkeypatch.delenv("MODELWARD_KEY_PASSWORD")
    with pytest.raises(VerdictError, match="MODELWARD_KEY_PASSWORD"):
        read_private_key(private)
    assert kid.startswith("sha256:")


def test_write_keypair_modes_and_no_overwrite(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        private, public, kid = write_keypair(tmp_path / "keys", "signer")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    assert kid == spki_key_id(public.read_bytes())
    before = private.read_bytes()
    with pytest.raises(VerdictError, match="already exists"):
        write_keypair(tmp_path / "keys", "signer")
    assert private.read_bytes() == before

    (tmp_path / "keys" / "half.pub").write_text("not mine")
    with pytest.raises(VerdictError, match="already exists"):
        write_keypair(tmp_path / "keys", "half")
    assert not (tmp_path / "keys" / "half.key").exists()

    (tmp_path / "keys" / "link.key").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(VerdictError, match="already exists"):
        write_keypair(tmp_path / "keys", "link")
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden"])
def test_write_keypair_rejects_odd_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(VerdictError, match="invalid key name"):
        write_keypair(tmp_path, name)


def test_keys_must_be_p256_public_keys(tmp_path: Path) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    for key, message in ((p384, "not P-256"), (ed, "not an ECDSA")):
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(VerdictError, match=message):
            VerdictKeys.from_pems([pem])
    with pytest.raises(VerdictError, match="not a PEM public key"):
        VerdictKeys.from_pems([b"garbage"])
    with pytest.raises(VerdictError, match="cannot read"):
        VerdictKeys.from_paths([tmp_path / "missing.pub"])
    private_384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(VerdictError, match="not P-256"):
        load_private_key(private_384)


# --- check -------------------------------------------------------------------------------------


def test_trusted_verdict_round_trips(pair: tuple[bytes, bytes], keys: VerdictKeys) -> None:
    verdict = make_verdict(outcome="deny")
    check = keys.check(sign_verdict(verdict, pair[0]), REFERENCE)
    assert check.trusted and check.reason == ""
    assert check.verdict == verdict
    assert check.key_id == spki_key_id(pair[1])
    assert check.verdict is not None and check.verdict.decision.deny[0].id == "pickle.denied"


def test_one_signer_signs_many_verdicts_as_sign_verdict_does(
    pair: tuple[bytes, bytes], keys: VerdictKeys
) -> None:
    signer = VerdictSigner(load_private_key(pair[0]))
    verdicts = [make_verdict(outcome=outcome) for outcome in ("allow", "deny", "allow")]
    stored = [signer.sign(verdict) for verdict in verdicts]
    alone = sign_verdict(verdicts[0], pair[0])
    assert {s.key_id for s in stored} == {alone.key_id} and signer.key_id == alone.key_id
    assert stored[0].envelope["payload"] == alone.envelope["payload"]
    for verdict, one in zip(verdicts, stored, strict=True):
        check = keys.check(one, REFERENCE)
        assert check.trusted and check.verdict == verdict


def test_no_keys_configured_trusts_nothing(pair: tuple[bytes, bytes]) -> None:
    check = VerdictKeys.from_pems([]).check(signed(pair[0]), REFERENCE)
    assert not check.trusted and "no verdict keys" in check.reason


def test_unknown_key_is_untrusted(
    pair: tuple[bytes, bytes], other_pair: tuple[bytes, bytes]
) -> None:
    check = VerdictKeys.from_pems([pair[1]]).check(signed(other_pair[0]), REFERENCE)
    assert not check.trusted
    assert "unknown key id" in check.reason and spki_key_id(other_pair[1]) in check.reason
    assert check.key_id == spki_key_id(other_pair[1])


def test_any_configured_key_is_enough(
    pair: tuple[bytes, bytes], other_pair: tuple[bytes, bytes]
) -> None:
    both = VerdictKeys.from_pems([pair[1], other_pair[1]])
    assert both.check(signed(pair[0]), REFERENCE).trusted
    assert both.check(signed(other_pair[0]), REFERENCE).trusted


def test_tampered_payload_is_a_bad_signature(pair: tuple[bytes, bytes], keys: VerdictKeys) -> None:
    check = keys.check(flip_payload_byte(signed(pair[0])), REFERENCE)
    assert not check.trusted and check.reason.startswith("bad signature")


def test_signature_claiming_a_trusted_key_id_but_made_by_another_key(
    pair: tuple[bytes, bytes], other_pair: tuple[bytes, bytes], keys: VerdictKeys
) -> None:
    forged = signed(other_pair[0])
    envelope = json.loads(json.dumps(forged.envelope))
    envelope["signatures"][0]["keyid"] = spki_key_id(pair[1])
    check = keys.check(with_envelope(forged, envelope), REFERENCE)
    assert not check.trusted and check.reason.startswith("bad signature")


def test_replay_under_another_reference_is_untrusted(
    pair: tuple[bytes, bytes], keys: VerdictKeys
) -> None:
    other = signed(pair[0], reference="hf://org/other@" + "1" * 40)
    check = keys.check(other, REFERENCE)
    assert not check.trusted
    assert "signed for 'hf://org/other@" in check.reason and REFERENCE in check.reason
    # the index of a stored verdict is not what is checked: relabelling it does not help
    relabelled = SignedVerdict(other.envelope, REFERENCE, None, "x", "allow", other.key_id)
    assert not keys.check(relabelled, REFERENCE).trusted


def test_wrong_payload_type_is_untrusted(pair: tuple[bytes, bytes], keys: VerdictKeys) -> None:
    envelope = dsse_sign(pair[0], make_verdict().payload(), "application/vnd.in-toto+json")
    check = keys.check(with_envelope(signed(pair[0]), envelope), REFERENCE)
    assert not check.trusted and "wrong payloadType" in check.reason


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[]", b'{"schema": "modelward.dev/verdict/v1"}', b'{"reference": 1}'],
)
def test_signed_payload_that_is_not_a_verdict(
    pair: tuple[bytes, bytes], keys: VerdictKeys, payload: bytes
) -> None:
    envelope = dsse_sign(pair[0], payload, PAYLOAD_TYPE)
    check = keys.check(with_envelope(signed(pair[0]), envelope), REFERENCE)
    assert not check.trusted and "not a valid verdict" in check.reason


def _mutations(envelope: dict[str, Any]) -> list[Any]:
    sig = envelope["signatures"][0]
    return [
        None,
        "a string",
        [],
        {},
        {**envelope, "payload": 42},
        {**envelope, "payload": "%%% not base64 %%%"},
        {**envelope, "payloadType": None},
        {**envelope, "signatures": []},
        {**envelope, "signatures": "x"},
        {**envelope, "signatures": [None]},
        {**envelope, "signatures": [{"keyid": sig["keyid"]}]},
        {**envelope, "signatures": [{"keyid": sig["keyid"], "sig": "!!"}]},
        {**envelope, "signatures": [{"keyid": sig["keyid"], "sig": ""}]},
        {**envelope, "signatures": [sig, dict(sig)]},
        {**envelope, "signatures": [{"keyid": 5, "sig": sig["sig"]}]},
        {**envelope, "extra": object()},
        {**envelope, "extra": _deep(100_000)},
        {**envelope, "payloadType": _deep(100_000)},
    ]


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_malformed_envelopes_are_untrusted_never_raised(
    pair: tuple[bytes, bytes], keys: VerdictKeys
) -> None:
    good = signed(pair[0])
    for bad in _mutations(good.envelope):
        check = keys.check(with_envelope(good, bad), REFERENCE)
        assert not check.trusted and check.reason, bad
    assert keys.check(good, REFERENCE).trusted  # the original was not modified


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload_type=st.one_of(st.just(PAYLOAD_TYPE), json_values),
    payload=st.one_of(
        st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()), json_values
    ),
    signatures=st.one_of(
        json_values,
        st.lists(st.fixed_dictionaries({"keyid": json_values, "sig": json_values}), max_size=3),
    ),
)
def test_fuzzed_envelopes_never_raise_and_never_pass(
    keys: VerdictKeys, payload_type: Any, payload: Any, signatures: Any
) -> None:
    envelope = {"payloadType": payload_type, "payload": payload, "signatures": signatures}
    fake = SignedVerdict(envelope, REFERENCE, None, "2026-01-01T00:00:00Z", "allow", "k")
    check = keys.check(fake, REFERENCE)
    assert not check.trusted and check.reason


# --- memo --------------------------------------------------------------------------------------


def test_checks_are_memoised_per_envelope_and_reference(
    pair: tuple[bytes, bytes], keys: VerdictKeys
) -> None:
    good = signed(pair[0])
    first = keys.check(good, REFERENCE)
    assert keys.check(good, REFERENCE) is first
    copy_of_good = with_envelope(good, json.loads(json.dumps(good.envelope)))
    assert keys.check(copy_of_good, REFERENCE) is first  # same content, same answer
    assert not keys.check(good, "hf://org/else@" + "2" * 40).trusted
    assert not keys.check(flip_payload_byte(good), REFERENCE).trusted
    assert keys.check(good, REFERENCE) is first


def test_memo_is_bounded(pair: tuple[bytes, bytes]) -> None:
    keys = VerdictKeys.from_pems([pair[1]], memo_size=2)
    verdicts = [signed(pair[0], created_at=f"2026-01-0{i}T00:00:00Z") for i in range(1, 4)]
    first = keys.check(verdicts[0], REFERENCE)
    keys.check(verdicts[1], REFERENCE)
    keys.check(verdicts[2], REFERENCE)
    assert len(keys._memo) == 2
    again = keys.check(verdicts[0], REFERENCE)
    assert again == first and again is not first  # evicted, so checked again


def test_concurrent_checks_agree(pair: tuple[bytes, bytes], keys: VerdictKeys) -> None:
    good, bad = signed(pair[0]), flip_payload_byte(signed(pair[0]))
    results: list[tuple[bool, bool]] = []

    def worker() -> None:
        for _ in range(50):
            results.append(
                (keys.check(good, REFERENCE).trusted, keys.check(bad, REFERENCE).trusted)
            )

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(True, False)] * 400


def test_memoised_check_verifies_a_signature_once(
    pair: tuple[bytes, bytes], keys: VerdictKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = sign_verdict(
        make_verdict().model_copy(update={"facts": {"files": ["x" * 64] * 1000}}), pair[0]
    )
    verifications = 0
    real_verify = Envelope.verify

    def counting_verify(self: Envelope, *args: Any, **kwargs: Any) -> Any:
        nonlocal verifications
        verifications += 1
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(Envelope, "verify", counting_verify)
    for _ in range(200):
        assert keys.check(big, REFERENCE).trusted
    assert verifications == 1
    assert not keys.check(big, "hf://other/model@" + "0" * 40).trusted
    assert verifications == 2  # a different reference is a different question


def test_signed_verdict_from_envelope_indexes_the_payload(pair: tuple[bytes, bytes]) -> None:
    original = signed(pair[0], outcome="deny")
    rebuilt = SignedVerdict.from_envelope(original.envelope)
    assert rebuilt == original
    assert rebuilt.to_json_dict()["envelope"] == original.envelope
    assert isinstance(rebuilt.unverified_verdict(), Verdict)
    with pytest.raises(VerdictError, match="not a verdict envelope"):
        SignedVerdict.from_envelope({"payload": "e30=", "signatures": []})
