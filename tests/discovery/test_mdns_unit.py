"""TXT records of the mDNS advertisement, without a network: building, parsing, rejecting."""

from __future__ import annotations

import asyncio

import pytest
from conftest import modules_after
from hypothesis import given
from hypothesis import strategies as st
from zeroconf import ServiceInfo

from edge_dan.discovery import mdns
from edge_dan.discovery.mdns import (
    CAP_BRIDGE,
    CAP_NEGOTIATE,
    CAP_PAIR,
    SERVICE_TYPE,
    DiscoveryError,
    MalformedAdvert,
    MdnsAdvertiser,
    build_txt,
    parse_txt,
    resolve_interfaces,
)
from edge_dan.discovery.tokens import (
    FLAG_OPEN_TO_PAIRING,
    Advert,
    TokenError,
    TokenRotator,
    new_advertising_key,
)


def wire(txt: dict[str, str]) -> dict[bytes, bytes | None]:
    """What a browser gets back: the TXT record through zeroconf's own encoding and parsing."""
    info = ServiceInfo(SERVICE_TYPE, f"x.{SERVICE_TYPE}", port=1, properties=txt, server="x.local.")
    return ServiceInfo(SERVICE_TYPE, f"x.{SERVICE_TYPE}", properties=info.text).properties


@given(
    token=st.binary(min_size=12, max_size=12),
    open_=st.booleans(),
    capabilities=st.integers(0, 0xFFFFFFFF),
)
def test_txt_round_trips_through_zeroconf(token: bytes, open_: bool, capabilities: int) -> None:
    advert = Advert(1, FLAG_OPEN_TO_PAIRING if open_ else 0, token)
    txt = build_txt(advert, capabilities)
    assert set(txt) == {"v", "t", "p", "c"}
    assert parse_txt(wire(txt)) == (advert, capabilities)


def test_txt_carries_exactly_the_four_short_keys() -> None:
    advert = Advert(1, FLAG_OPEN_TO_PAIRING, bytes(range(12)))
    txt = build_txt(advert, CAP_NEGOTIATE | CAP_PAIR | CAP_BRIDGE)
    assert txt == {"v": "1", "t": advert.token_text(), "p": "1", "c": "7"}
    assert len(txt["t"]) == 20
    assert build_txt(Advert(1, 0, bytes(12)), CAP_PAIR)["p"] == "0"
    with pytest.raises(ValueError, match="capabilities"):
        build_txt(advert, -1)
    with pytest.raises(ValueError, match="capabilities"):
        build_txt(advert, 1 << 32)


GOOD = {b"v": b"1", b"t": Advert(1, 0, bytes(range(12))).token_text().encode(), b"p": b"0",
        b"c": b"3"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({b"v": b"2"}, "version"),
        ({b"v": b"01"}, "version"),
        ({b"v": b" 1"}, "version"),
        ({b"t": GOOD[b"t"][:-1]}, "token"),
        ({b"t": GOOD[b"t"] + b"a"}, "token"),
        ({b"t": GOOD[b"t"].upper()}, "token"),
        ({b"t": b"0" * 20}, "token"),  # 0, 1, 8 and 9 are not base32
        ({b"t": b"a" * 250}, "token"),
        ({b"t": b"\xc3\xa9" * 10}, "ASCII"),
        ({b"t": None}, "missing"),
        ({b"p": b"2"}, "flag"),
        ({b"p": b""}, "flag"),
        ({b"c": b"A"}, "capabilities"),
        ({b"c": b""}, "capabilities"),
        ({b"c": b"123456789"}, "capabilities"),
        ({b"c": b"-1"}, "capabilities"),
    ],
)
def test_malformed_txt_is_rejected(change: dict[bytes, bytes | None], why: str) -> None:
    with pytest.raises(MalformedAdvert, match=why):
        parse_txt({**GOOD, **change})


@pytest.mark.parametrize("missing", [b"v", b"t", b"p", b"c"])
def test_every_key_is_required(missing: bytes) -> None:
    with pytest.raises(MalformedAdvert, match="missing"):
        parse_txt({k: v for k, v in GOOD.items() if k != missing})


def test_unknown_extra_keys_are_ignored_and_errors_are_token_errors() -> None:
    advert, capabilities = parse_txt({**GOOD, b"future": b"x", b"flagonly": None})
    assert advert.token == bytes(range(12)) and capabilities == 3
    assert issubclass(MalformedAdvert, TokenError)  # one except clause covers BLE and mDNS


@given(
    base=st.sampled_from([{}, GOOD]),
    changes=st.dictionaries(
        st.sampled_from([b"v", b"t", b"p", b"c"]) | st.binary(max_size=8),
        st.none() | st.binary(max_size=40) | st.sampled_from([b"1", b"0", GOOD[b"t"]]),
    ),
)
def test_arbitrary_txt_never_raises_anything_but_malformed(
    base: dict[bytes, bytes | None], changes: dict[bytes, bytes | None]
) -> None:
    try:
        advert, capabilities = parse_txt({**base, **changes})
    except MalformedAdvert:
        return
    assert advert.version == 1 and 0 <= capabilities < 1 << 32


def test_interfaces_are_resolved_by_name_or_address_and_bad_ones_explained() -> None:
    assert resolve_interfaces(["127.0.0.1"]) == ["127.0.0.1"]
    assert resolve_interfaces(["lo"]) == ["127.0.0.1"]
    with pytest.raises(DiscoveryError, match="neither an IPv4 address nor an interface"):
        resolve_interfaces(["no-such-interface0"])
    assert all(not a.startswith("127.") for a in _default_or_empty())


def _default_or_empty() -> list[str]:
    try:
        return resolve_interfaces(None)
    except DiscoveryError:
        return []


def test_advertiser_refuses_bad_settings_before_touching_the_network() -> None:
    rotator = TokenRotator(new_advertising_key())
    with pytest.raises(ValueError, match="capabilities"):
        MdnsAdvertiser(rotator, 1234, capabilities=1 << 40)

    async def refresh_unstarted() -> None:
        await MdnsAdvertiser(rotator, 1234).refresh()

    with pytest.raises(DiscoveryError, match="not running"):
        asyncio.run(refresh_unstarted())


def test_importing_the_discovery_package_does_not_load_zeroconf() -> None:
    assert "zeroconf" not in modules_after("import edge_dan.discovery")
    assert mdns.SERVICE_TYPE == "_littledan._tcp.local."
