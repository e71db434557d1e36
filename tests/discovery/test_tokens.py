"""Rotating advertisement tokens: partners recognise each other; strangers link nothing."""

from __future__ import annotations

import itertools

import pytest

from edge_dan.discovery.tokens import (
    ADVERT_VERSION,
    FLAG_OPEN_TO_PAIRING,
    NONCE_LEN,
    TOKEN_LEN,
    Advert,
    Recogniser,
    TokenError,
    TokenRotator,
    compute_tag,
    epoch_of,
    new_advertising_key,
)

PERIOD = 60.0


def test_partner_recognises_every_epoch_and_stranger_sees_fresh_tokens() -> None:
    alice_key, other_key = new_advertising_key(), new_advertising_key()
    alice = TokenRotator(alice_key, period=PERIOD)
    bob = Recogniser({b"alice": alice_key, b"carol": other_key}, period=PERIOD)
    stranger = Recogniser({b"carol": other_key}, period=PERIOD)
    seen: list[Advert] = []
    for epoch in range(3):
        now = 1_700_000_000.0 + epoch * PERIOD + 1.0
        advert = alice.advert(now)
        seen.append(advert)
        assert bob.recognise(advert, now) == b"alice"
        assert stranger.recognise(advert, now) is None
    # Nothing is shared between rotations: no token, no nonce, no tag.
    assert len({a.token for a in seen}) == 3
    assert len({a.nonce for a in seen}) == 3
    assert len({a.tag for a in seen}) == 3
    assert alice.generation == 3


def test_same_epoch_gives_same_advert_and_next_change_is_the_boundary() -> None:
    rotator = TokenRotator(new_advertising_key(), period=PERIOD)
    start = 600.0 + 5.0
    first = rotator.advert(start)
    assert rotator.advert(start + 30.0) == first
    assert rotator.generation == 1
    assert rotator.next_change(start) == 660.0
    assert rotator.advert(660.0) != first


def test_clock_skew_within_one_epoch_is_tolerated_and_beyond_is_not() -> None:
    key = new_advertising_key()
    advert = TokenRotator(key, period=PERIOD).advert(6000.0)
    listener = Recogniser({b"p": key}, period=PERIOD, skew=1)
    assert listener.recognise(advert, 6000.0 + PERIOD) == b"p"
    assert listener.recognise(advert, 6000.0 - PERIOD) == b"p"
    # A replayed token stops working once its epoch window has passed.
    assert listener.recognise(advert, 6000.0 + 2 * PERIOD) is None
    strict = Recogniser({b"p": key}, period=PERIOD, skew=0)
    assert strict.recognise(advert, 6000.0 + PERIOD) is None


def test_open_to_pairing_is_time_limited_and_changes_everything() -> None:
    key = new_advertising_key()
    rotator = TokenRotator(key, period=PERIOD)
    closed = rotator.advert(100.0)
    assert not closed.open_to_pairing
    rotator.open_to_pairing(101.0, duration=5.0)
    opened = rotator.advert(102.0)
    assert opened.open_to_pairing and opened.flags == FLAG_OPEN_TO_PAIRING
    # A flag change mid-epoch draws a new nonce, so the two adverts cannot be linked by it.
    assert opened.nonce != closed.nonce
    assert rotator.next_change(102.0) == 106.0
    after = rotator.advert(106.0)
    assert not after.open_to_pairing
    assert after.nonce not in (opened.nonce, closed.nonce)
    assert Recogniser({b"p": key}, period=PERIOD).recognise(opened, 102.0) == b"p"
    rotator.open_to_pairing(107.0, duration=50.0)
    rotator.close_pairing()
    assert not rotator.advert(108.0).open_to_pairing


def test_a_window_meant_to_end_with_the_epoch_never_shows_open_in_the_next() -> None:
    """An owner (or app) opening pairing "for the rest of this epoch" computes the duration a
    moment before the rotator reads the clock, so the window would end a sliver after the
    boundary, and the next epoch's first advert would show open: a stranger could then link the
    two epochs. Such a sliver is cut back to the boundary; a real spill is kept."""
    rotator = TokenRotator(new_advertising_key(), period=PERIOD)
    start = 7 * PERIOD + 10.0
    boundary = 8 * PERIOD
    rotator.open_to_pairing(start + 0.003, duration=boundary - start)  # read 3 ms late
    assert rotator.advert(boundary - 1.0).open_to_pairing
    assert rotator.next_change(boundary - 1.0) == boundary
    assert not rotator.advert(boundary + 0.001).open_to_pairing
    rotator.open_to_pairing(start, duration=boundary - start + 30.0)  # meant to go on: kept
    assert rotator.advert(boundary + 1.0).open_to_pairing


def test_tampered_fields_are_not_recognised() -> None:
    key = new_advertising_key()
    advert = TokenRotator(key, period=PERIOD).advert(0.5)
    listener = Recogniser({b"p": key}, period=PERIOD)
    flipped_flag = Advert(advert.version, advert.flags ^ FLAG_OPEN_TO_PAIRING, advert.token)
    assert listener.recognise(flipped_flag, 0.5) is None
    for i in range(TOKEN_LEN):
        token = bytearray(advert.token)
        token[i] ^= 0x01
        assert listener.recognise(Advert(advert.version, advert.flags, bytes(token)), 0.5) is None
    assert listener.recognise(Advert(ADVERT_VERSION + 1, advert.flags, advert.token), 0.5) is None


def test_encodings_round_trip_and_reject_garbage() -> None:
    advert = TokenRotator(new_advertising_key(), period=PERIOD).advert(1.0)
    data = advert.service_data()
    assert len(data) == 13
    assert Advert.from_service_data(data) == advert
    text = advert.token_text()
    assert len(text) == 20 and text == text.lower()
    assert Advert.token_from_text(text) == advert.token
    assert Advert.token_from_text(text.upper()) == advert.token
    for bad in (b"", data[:-1], data + b"\0"):
        with pytest.raises(TokenError):
            Advert.from_service_data(bad)
    for bad_text in ("", "!" * 20, text[:-2], text + "aa", "é" * 20, "0" * 20):
        with pytest.raises(TokenError):
            Advert.token_from_text(bad_text)
    with pytest.raises(TokenError):
        Advert(16, 0, advert.token)
    with pytest.raises(TokenError):
        Advert(1, 16, advert.token)


def test_tag_is_bound_to_every_input() -> None:
    key = bytes(32)
    nonce = bytes(NONCE_LEN)
    base = compute_tag(key, 1, 0, 5, nonce)
    variants = [
        compute_tag(bytes([1]) + bytes(31), 1, 0, 5, nonce),
        compute_tag(key, 2, 0, 5, nonce),
        compute_tag(key, 1, 1, 5, nonce),
        compute_tag(key, 1, 0, 6, nonce),
        compute_tag(key, 1, 0, 5, bytes([1]) + bytes(NONCE_LEN - 1)),
    ]
    assert len({base, *variants}) == 6
    with pytest.raises(ValueError, match="advertising key"):
        compute_tag(bytes(16), 1, 0, 5, nonce)


def test_stranger_cannot_link_tokens_statistically() -> None:
    """Over many rotations, no byte position of the token is stable or biased."""
    rotator = TokenRotator(new_advertising_key(), period=1.0)
    tokens = [rotator.advert(float(t)).token for t in range(512)]
    assert len(set(tokens)) == 512
    for position in range(TOKEN_LEN):
        values = [token[position] for token in tokens]
        # A fixed byte would give one value; uniform bytes give ~222 distinct of 256 here.
        assert len(set(values)) > 150


def test_many_partners_and_removal() -> None:
    keys = {bytes([i]) * 32: new_advertising_key() for i in range(50)}
    listener = Recogniser(keys, period=PERIOD)
    assert len(listener) == 50
    for peer, key in itertools.islice(keys.items(), 0, 50, 7):
        assert listener.recognise(TokenRotator(key, period=PERIOD).advert(9.0), 9.0) == peer
    gone = next(iter(keys))
    listener.remove(gone)
    assert listener.recognise(TokenRotator(keys[gone], period=PERIOD).advert(9.0), 9.0) is None


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenRotator(bytes(31))
    with pytest.raises(ValueError, match="period"):
        TokenRotator(bytes(32), period=0)
    with pytest.raises(ValueError, match="skew"):
        Recogniser(skew=-1)
    with pytest.raises(ValueError, match="32 bytes"):
        Recogniser().add(b"p", bytes(5))
    with pytest.raises(ValueError, match="duration"):
        TokenRotator(bytes(32)).open_to_pairing(0.0, duration=0)
    assert epoch_of(-0.5, 1.0) == -1


def test_the_wire_grant_carries_exactly_an_advertising_key() -> None:
    from edge_dan.wire.messages.discovery import ADVERTISING_KEY_LEN as WIRE_LEN

    assert len(new_advertising_key()) == WIRE_LEN
