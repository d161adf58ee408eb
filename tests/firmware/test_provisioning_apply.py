"""Applying provisioning files to the NVM store: order, handset ids, de-registration, strictness."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dect.identity import Ipui
from firmware.nvm import Account, NvmStore, RegStatus, TransportProtocol, TrunkDirection
from firmware.provisioning import (
    ProvisioningError,
    ProvisioningSyntaxError,
    apply,
    doc_from_params,
    lint,
    parse_provisioning,
    plan,
)
from models.errors import ConfigError, FksimError
from models.profiles import get_profile

DATA = Path(__file__).with_name("data")
A = Ipui.parse("029e74a599")
B = Ipui.parse("0123456789")
C = Ipui.parse("0aaaaaaaaa")
N870 = get_profile("N870")
N670 = get_profile("N670")


def doc_of(name: str):
    return parse_provisioning((DATA / name).read_bytes(), source=name)


def xml(*body: str, version: str = "1.1") -> bytes:
    inner = "\n".join(body)
    return f'<provisioning version="{version}" productID="e2">\n<nvm>\n{inner}\n</nvm>\n</provisioning>\n'.encode()


@pytest.fixture
def store():
    with NvmStore() as s:
        yield s


def test_good_file_applies_everything(store):
    assert apply(doc_of("good.xml"), store, N870) == []
    handsets = store.handsets()
    assert [(h.index, h.ipui, h.reg_status, h.dect_ac) for h in handsets] == [
        (1, A, RegStatus.TO_REG, "1234"),
        (2, B, RegStatus.TO_REG, None),
    ]
    assert store.account(A) == Account(
        auth_name="2001", auth_password="s3cret", user_name="2001", display_name="Reception", provider_id=1,
        voicemail_mailbox="*86", voicemail_active=True, feature_key_sync_active=True,
    )
    account_b = store.account(B)
    assert account_b is not None and account_b.user_name == "2002" and not account_b.feature_key_sync_active
    provider = store.provider(1)
    assert provider is not None
    assert (provider.domain, provider.proxy_server_address, provider.transport_protocol) == (
        "as.example.com", "sbc.example.com", TransportProtocol.UDP)
    assert provider.mwi_subscription and provider.outbound_proxy_mode == 1
    assert store.system_params() == {"DmGlobal.0.SystemName": "Ward 3", "Telephony.0.ToneScheme": "GBR"}
    assert store.verify_admin_password("N3w-admin") and not store.admin_must_change_password


def test_firmware_element_is_recorded():
    doc = doc_of("good.xml")
    assert [(f.version, f.url) for f in doc.firmware] == [("2.53.2", "http://fw.example.com/n870.bin")]


def test_applying_twice_is_idempotent(store):
    apply(doc_of("good.xml"), store, N870)
    first = {k: v for k, v in store.snapshot().items() if k != "admin"}
    assert apply(doc_of("good.xml"), store, N870) == []
    assert {k: v for k, v in store.snapshot().items() if k != "admin"} == first


def test_delete_not_provisioned_keeps_added_and_their_state(store):
    store.add_handset(ipui=A, reg_status=RegStatus.REGISTERED)
    store.put_account(A, Account(user_name="old"))
    store.add_handset(ipui=C, reg_status=RegStatus.REGISTERED)
    store.put_account(C, Account(user_name="gone"))
    apply(doc_of("good.xml"), store, N870)
    # A was already registered: ToReg does not force a re-registration (docs/provisioning.md).
    assert store.handset(A) is not None and store.handset(A).reg_status is RegStatus.REGISTERED  # type: ignore[union-attr]
    assert store.handset(C) is None
    # B takes the slot C had.
    assert store.handset(B) is not None and store.handset(B).index == 2  # type: ignore[union-attr]
    assert store.account(A).user_name == "2001"  # type: ignore[union-attr]


def test_index_keyed_handsets(store):
    assert apply(doc_of("index-keyed.xml"), store, N870) == []
    by_index = {h.index: h for h in store.handsets()}
    assert by_index[1].ipui == A and by_index[2].ipui == B and by_index[3].ipui is None
    assert by_index[3].dect_ac == "0000" and by_index[2].dect_ac == "4321"
    assert [store.account(i).user_name for i in (1, 2, 3)] == ["2001", "2002", "2003"]  # type: ignore[union-attr]
    assert store.account(B).feature_key_sync_active  # type: ignore[union-attr]


def test_index_refers_to_existing_slot_on_the_base(store):
    store.add_handset(ipui=C, index=7, reg_status=RegStatus.REGISTERED)
    doc = parse_provisioning(xml('<param name="SipAccount.00007.FeatureKeySyncActive" value="1"/>'))
    assert apply(doc, store, N870) == []
    assert store.account(C).feature_key_sync_active  # type: ignore[union-attr]


def test_to_dereg_deletes_handset_and_account(store):
    store.add_handset(ipui=A, reg_status=RegStatus.REGISTERED)
    store.put_account(A, Account(user_name="2001", feature_key_sync_active=True))
    store.assign_trunk(A, 0, TrunkDirection.SEND)
    doc = parse_provisioning(xml('<param name="hs.029e74a599.RegStatus" value="ToDeReg"/>'))
    assert apply(doc, store, N670) == []
    assert store.handset(A) is None and store.handsets() == [] and store.trunk_assignments() == []


def test_add_without_regstatus_warns_and_stays_notreg(store):
    doc = parse_provisioning(xml('<oper name="add_hs" value="029e74a599"/>'), source="f.xml")
    diagnostics = apply(doc, store, N870)
    assert [str(d) for d in diagnostics] == [
        "f.xml:3: warning: handset 029e74a599 is added without hs.RegStatus=ToReg: it cannot register"
    ]
    assert store.handset(A).reg_status is RegStatus.NOT_REG  # type: ignore[union-attr]


def test_errors_are_skipped_the_rest_applies(store):
    diagnostics = apply(doc_of("unknown-handset.xml"), store, N870)
    assert any(d.is_error for d in diagnostics)
    # line 8 applied (after add_hs), then the handset was de-registered at line 10.
    assert store.handsets() == []


def test_strict_apply_applies_nothing_on_error(store):
    store.set_system_param("DmGlobal.0.SystemName", "before")
    before = store.snapshot()
    with pytest.raises(ProvisioningError, match=r"out-of-range.xml:5: error: .* \(and 12 more\); nothing applied"):
        apply(doc_of("out-of-range.xml"), store, N870, strict=True)
    assert store.snapshot() == before


def test_file_with_unknown_handset_lints_against_store_contents(store):
    store.add_handset(ipui=B)
    diagnostics = lint(doc_of("unknown-handset.xml"), N870, handsets=store.handsets())
    messages = [d.message for d in diagnostics]
    assert "handset 0123456789 was never added" not in " ".join(messages)
    assert any("nor on the base" in m for m in messages)


def test_internal_telephony_and_trunks_apply_on_n670(store):
    doc = doc_of("internal-telephony.xml")
    diagnostics = apply(doc, store, N670)
    assert [d.line for d in diagnostics] == [10, 19]
    assert store.internal_telephony
    assert [(t.index, t.trunk, t.direction) for t in store.trunk_assignments()] == [
        (1, 0, TrunkDirection.RECEIVE), (1, 0, TrunkDirection.SEND)]


def test_internal_telephony_is_refused_on_n870(store):
    apply(doc_of("internal-telephony.xml"), store, N870)
    assert not store.internal_telephony and store.trunk_assignments() == []


def test_lint_with_internal_telephony_on_a_model_without_it_is_config_error():
    with pytest.raises(ConfigError, match='N870 has no "Internal telephony" setting'):
        lint(doc_of("good.xml"), N870, True)


@pytest.mark.parametrize("model_id", ["N610", "N670"])
def test_fks_gated_warning_only_when_internal_telephony_ends_up_on(model_id):
    profile = get_profile(model_id)
    doc = parse_provisioning(xml(
        '<oper name="add_hs" value="029e74a599"><param name="hs.RegStatus" value="ToReg"/></oper>',
        '<param name="SipAccount.029e74a599.FeatureKeySyncActive" value="1"/>',
        '<param name="Telephony.0.InternalTelephony" value="0"/>',
    ), source="f.xml")
    # Switched off by the file itself: no warning even if the base had it on before.
    assert lint(doc, profile, True) == []


def test_fks_flag_zero_gives_no_warning():
    doc = parse_provisioning(xml(
        '<oper name="add_hs" value="029e74a599"><param name="hs.RegStatus" value="ToReg"/></oper>',
        '<param name="SipAccount.029e74a599.FeatureKeySyncActive" value="0"/>',
    ))
    assert lint(doc, N670, True) == []


def test_handset_capacity_is_the_models(store):
    adds = [f'<oper name="add_hs" value="0{i:09x}"><param name="hs.RegStatus" value="ToReg"/></oper>'
            for i in range(1, 23)]
    diagnostics = lint(parse_provisioning(xml(*adds), source="f.xml"), get_profile("N610"))
    assert [str(d) for d in diagnostics] == [
        "f.xml:23: error: no free handset slot: N610 holds at most 20",
        "f.xml:24: error: no free handset slot: N610 holds at most 20",
    ]
    index_out = parse_provisioning(xml('<oper name="add_hs" value="00021"/>'), source="g.xml")
    assert "out of range 1..20 on N610" in str(lint(index_out, get_profile("N610"))[0])


def test_plan_lists_actions_in_file_order():
    result = plan(doc_of("delete-not-first.xml"), N870)
    assert [type(a).__name__ for a in result.actions] == ["AddHandset", "SetRegStatus", "SetAccountField"]


def test_version_and_root_checks():
    doc = parse_provisioning(xml("", version="2.0"), source="v.xml")
    assert [str(d) for d in lint(doc, N870)] == ['v.xml:1: warning: format version "2.0" is not the known 1.1']
    wrong_root = parse_provisioning(b"<config><nvm/></config>", source="r.xml")
    assert [str(d) for d in lint(wrong_root, N870)] == [
        "r.xml:1: error: the root element is <config>, expected <provisioning>"]


def test_latin1_file_reads():
    data = '<?xml version="1.0" encoding="ISO-8859-1"?>\n' + xml(
        '<oper name="add_hs" value="029e74a599"><param name="hs.RegStatus" value="ToReg"/></oper>',
        '<param name="SipAccount.029e74a599.DisplayName" value="Jos\u00e9"/>').decode()
    with NvmStore() as s:
        apply(parse_provisioning(data.encode("latin-1")), s, N870)
        assert s.account(A).display_name == "Jos\u00e9"  # type: ignore[union-attr]


def test_syntax_error_is_a_config_error_with_place():
    with pytest.raises(ProvisioningSyntaxError) as err:
        parse_provisioning(b"<provisioning>\n<nvm>\n</provisioning>", source="m.xml")
    assert isinstance(err.value, ConfigError)
    assert str(err.value).startswith("m.xml:3: error: not well-formed XML")


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_arbitrary_input_never_escapes_as_a_traceback(data):
    try:
        doc = parse_provisioning(data, source="fuzz.xml")
    except FksimError:
        return
    for diagnostic in lint(doc, N670):
        assert diagnostic.line >= 0 and str(diagnostic).startswith("fuzz.xml:")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([
    '<oper name="DeleteNotProvisionedHS"/>',
    '<oper name="add_hs" value="029e74a599"><param name="hs.RegStatus" value="ToReg"/></oper>',
    '<oper name="add_hs" value="00002"/>',
    '<param name="hs.029e74a599.RegStatus" value="ToDeReg"/>',
    '<param name="SipAccount.029e74a599.UserName" value="2001"/>',
    '<param name="SipAccount.00002.FeatureKeySyncActive" value="1"/>',
    '<param name="hs.00001.DECT_AC" value="1111"/>',
]), max_size=8))
def test_planned_handsets_match_applied_handsets(items):
    """Whatever the order, apply never fails inside the transaction: the plan predicted the store."""
    doc = parse_provisioning(xml(*items))
    with NvmStore() as s:
        s.add_handset(ipui=C, reg_status=RegStatus.REGISTERED)
        apply(doc, s, N870)
        assert all(h.index >= 1 for h in s.handsets())


def test_raw_params_document(store):
    store.add_handset(ipui=A)
    doc = doc_from_params({"SipProvider.1.Domain": "as.example.com", "SipAccount.029e74a599.FeatureKeySyncActive": "1",
                           "SipProvider.1.Bogus": "x"}, source="scenario.yaml", line=12)
    diagnostics = apply(doc, store, N870)
    assert [str(d) for d in diagnostics] == [
        'scenario.yaml:12: error: unknown parameter "SipProvider.1.Bogus": SipProvider has no "Bogus"'
    ]
    assert store.provider(1).domain == "as.example.com"  # type: ignore[union-attr]
    assert store.account(A).feature_key_sync_active  # type: ignore[union-attr]


def test_content_of_an_unexpected_element_is_reported_once():
    doc = parse_provisioning(xml('<extra>\n<param name="DmGlobal.0.X" value="1"/>\n</extra>'), source="e.xml")
    assert [str(d) for d in lint(doc, N870)] == ["e.xml:3: error: unexpected element <extra> inside <nvm>"]
    assert doc.items == ()


def test_large_system_capacity_and_index_reuse():
    adds = [f'<oper name="add_hs" value="0{i:09x}"><param name="hs.RegStatus" value="ToReg"/></oper>'
            for i in range(1, 1002)]
    diagnostics = lint(parse_provisioning(xml(*adds), source="big.xml"), get_profile("embedded-integrator"))
    assert [d.message for d in diagnostics] == ["no free handset slot: embedded-integrator holds at most 1000"]
    # A slot freed by ToDeReg is the lowest free one again.
    doc = parse_provisioning(xml(
        '<oper name="add_hs" value="029e74a599"><param name="hs.RegStatus" value="ToReg"/></oper>',
        '<oper name="add_hs" value="0123456789"><param name="hs.RegStatus" value="ToReg"/></oper>',
        '<param name="hs.00001.RegStatus" value="ToDeReg"/>',
        '<oper name="add_hs" value="0aaaaaaaaa"><param name="hs.RegStatus" value="ToReg"/></oper>',
    ))
    with NvmStore() as s:
        assert apply(doc, s, N870) == []
        assert [(h.index, h.ipui) for h in s.handsets()] == [(1, C), (2, B)]
