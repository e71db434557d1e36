"""``edge-dan accords verify FILE`` on whatever bytes a file may hold.

Random bytes and mutations of a real accord file (made by two agents that paired and negotiated)
go through the CLI's ``main`` in-process, on a home without a store: the original verifies (exit
0); anything else fails with exit 1 and one line on stderr, never an internal error (70). A
sample of the same files then goes through real ``edge-dan`` processes, which must answer the
same way, byte for byte.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from accord_homes import PASSPHRASES, Homes, make_homes
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_dan.cli.main import main
from edge_dan.owner import Owner


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Homes:
    return make_homes(tmp_path_factory.mktemp("homes"))


@pytest.fixture(scope="module")
def original(homes: Homes) -> bytes:
    with Owner.open(homes.alice, PASSPHRASES["alice"]) as owner:
        kept = owner.accords.get(bytes.fromhex(homes.accord_ids[0]))
    assert kept is not None
    return kept.accord.to_bytes()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty home (no store: ``verify FILE`` must not need one) and room for the files."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "home").mkdir()
    return root


def verify_in_process(workdir: Path, data: bytes) -> tuple[int, str, str]:
    path = workdir / "candidate.accord"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--home", str(workdir / "home"), "accords", "verify", str(path)])
    return code, out.getvalue(), err.getvalue()


def verify_in_a_process(workdir: Path, data: bytes) -> tuple[int, str, str]:
    path = workdir / "candidate.accord"
    path.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    command = [sys.executable, "-m", "edge_dan.cli.main", "--home", str(workdir / "home")]
    proc = subprocess.run(
        [*command, "accords", "verify", str(path)],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def assert_judged(original: bytes, data: bytes, answer: tuple[int, str, str]) -> None:
    code, _, err = answer
    if data == original:
        assert code == 0, err
        return
    assert code == 1, (code, err)
    assert err.startswith("edge-dan: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err


@st.composite
def mutations(draw: st.DrawFn, original: bytes) -> bytes:
    """The real accord with a few bytes flipped, cut, inserted or overwritten."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "truncate"]))
        if not data:
            data += draw(st.binary(min_size=1, max_size=4))
        elif kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at:]
    return bytes(data)


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_mutations_of_a_real_accord_fail_cleanly(
    original: bytes, workdir: Path, data: st.DataObject
) -> None:
    candidate = data.draw(mutations(original))
    assert_judged(original, candidate, verify_in_process(workdir, candidate))


@pytest.mark.slow
@FUZZ
@given(candidate=st.binary(max_size=600))
def test_random_bytes_fail_cleanly(original: bytes, workdir: Path, candidate: bytes) -> None:
    assert_judged(original, candidate, verify_in_process(workdir, candidate))


def test_the_original_verifies_in_process(original: bytes, workdir: Path) -> None:
    code, out, err = verify_in_process(workdir, original)
    assert code == 0, err
    assert "every signature checks" in out


@pytest.mark.slow
def test_a_real_process_answers_as_main_does(original: bytes, workdir: Path) -> None:
    """A sample of mutations, judged by a real ``edge-dan`` process and in-process alike."""
    sample = [original, b"", original[:-1], original[:40], os.urandom(64)]
    sample += [
        original[:at] + bytes([original[at] ^ 0x80]) + original[at + 1 :] for at in (3, 90, 200, -2)
    ]
    for candidate in sample:
        in_process = verify_in_process(workdir, candidate)
        assert_judged(original, candidate, in_process)
        assert verify_in_a_process(workdir, candidate) == in_process


# Any text argv can carry (no NUL), lone surrogates from bytes that are not UTF-8 included.
_ARGUMENT = st.one_of(
    st.text(st.characters(blacklist_characters="\x00"), max_size=40),
    st.binary(max_size=30).map(lambda b: b.replace(b"\0", b"").decode("utf-8", "surrogateescape")),
    st.text(alphabet="0123456789abcdefABCDEF/. -", max_size=70),
    st.sampled_from(["", ".", "..", "/", "a/", "//", "-", "--", "~", "/dev/null", "/proc/self"]),
)


@pytest.fixture(scope="module")
def at_alices(homes: Homes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """In-process commands on Alice's home, in a scratch working directory (``export`` may
    write a relative name there)."""
    scratch = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDGE_DAN_PASSPHRASE", PASSPHRASES["alice"])
        patch.chdir(scratch)
        yield homes.alice


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    words=st.one_of(
        st.tuples(st.just("show"), _ARGUMENT),
        st.tuples(st.just("verify"), _ARGUMENT),
        st.tuples(st.just("export"), _ARGUMENT, _ARGUMENT),
        st.tuples(st.just("export"), _ARGUMENT, _ARGUMENT, st.just("--force")),
        st.tuples(st.just("export"), st.just("afd0"), _ARGUMENT, st.just("--force")),
    )
)
def test_whatever_is_typed_is_answered_without_a_bug(
    at_alices: Path, homes: Homes, words: tuple[str, ...]
) -> None:
    words = tuple(homes.accord_ids[0][:6] if w == "afd0" else w for w in words)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--home", str(at_alices), "accords", *words])
        except SystemExit as exit:  # argparse: an option-like word, say
            code = int(exit.code or 0)
    assert code in {0, 1, 2}, (words, err.getvalue())
    if code:
        assert err.getvalue().count("\n") == 1, err.getvalue()
