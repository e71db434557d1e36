"""``Owner``: everything the owner keeps, behind one object on one open store.

In the manner of a database handle with a table per kind of row, each kind of data is one
attribute, made on first use::

    with Owner.open(home, passphrase) as owner:
        owner.identity.ensure()
        owner.profile.edit({"benevolence": 0.8})
        owner.peers.add(identity_key, pairing_result, "Bob")
        owner.accords.list(binding_only=True)

- ``profile``: the value profile now and its history (``Profile``);
- ``feedback``: the owner's answers and the personal model fitted to them (``Feedback``);
- ``contests``: refusals the owner contested (``Contests``);
- ``peers``: paired peers (``Peers``); ``advertising``: advertising keys (``Advertising``);
- ``accords`` and ``norms``: signed agreements (``Accords``, ``Norms``);
- ``identity``: the agent's own keys (``OwnIdentity``).

The attributes are imported when first used, so opening an owner (the CLI does it for every
command) does not load numpy or the negotiation layer unless they are needed. Making an ``Owner``
brings its store to the owner's schema (``edge_dan.owner.schema``); ``store`` stays reachable for
what the engine does on its own (passphrase, rekey, backup).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

from edge_dan.owner.schema import SCHEMA
from edge_dan.store.backup import import_backup
from edge_dan.store.keyfile import DEFAULT_UNLOCK_SECONDS, KdfParams
from edge_dan.store.store import Store

if TYPE_CHECKING:
    from edge_dan.owner.accords import Accords
    from edge_dan.owner.advertising import Advertising
    from edge_dan.owner.contests import Contests
    from edge_dan.owner.feedback import Feedback
    from edge_dan.owner.identity import OwnIdentity
    from edge_dan.owner.norms import Norms
    from edge_dan.owner.peers import Peers
    from edge_dan.owner.profile import Profile
    from edge_dan.values.judgement import Judgement
    from edge_dan.values.ranking import Ranking


class Judge(Protocol):
    """What ``Owner.rank`` needs of a value model: a judgement of each option text."""

    def judge(self, texts: Sequence[str]) -> list[Judgement]: ...


class Owner:
    """The owner's data in ``store``, which it brings to the owner's schema; close it when done
    (or use ``with``), which closes the store.

    ::

        with Owner.create(home, passphrase) as owner:     # or Owner.open(home, passphrase)
            owner.profile.edit({"benevolence": 0.9})
            owner.peers.list(), owner.accords.list(binding_only=True)
    """

    def __init__(self, store: Store) -> None:
        store.migrate(SCHEMA)
        self.store = store

    # ----- opening -------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        home: Path,
        passphrase: str | None = None,
        *,
        key: bytes | None = None,
        check: bool = True,
    ) -> Owner:
        """Unlock the store in ``home`` with its passphrase, or with the raw 32-byte ``key`` it
        was made with (a phone's keystore); ``check`` verifies every page first."""
        return cls._adopt(Store.open(home, passphrase, key=key, check=check))

    @classmethod
    def create(
        cls,
        home: Path,
        passphrase: str | None = None,
        *,
        key: bytes | None = None,
        backend: str | None = None,
        kdf: KdfParams | None = None,
        unlock_seconds: float = DEFAULT_UNLOCK_SECONDS,
    ) -> Owner:
        """A new store in ``home``, made with the owner's tables in it. Give a ``passphrase`` or
        a raw 32-byte ``key`` from the OS keystore, not both; ``backend`` (``"sqlcipher"`` or
        ``"sqlite"``) picks the engine, by default ``$EDGE_DAN_STORE_BACKEND``, else SQLCipher
        where it is installed (``edge_dan.store``)."""
        return cls._adopt(
            Store.create(
                home,
                passphrase,
                key=key,
                backend=backend,
                kdf=kdf,
                unlock_seconds=unlock_seconds,
                schema=SCHEMA,
            )
        )

    @classmethod
    def restore(
        cls,
        home: Path,
        backup: Path,
        backup_passphrase: str,
        *,
        store_passphrase: str | None = None,
        kdf: KdfParams | None = None,
        unlock_seconds: float = DEFAULT_UNLOCK_SECONDS,
    ) -> Owner:
        """Restore a backup into ``home`` (see ``edge_dan.store.import_backup``); a backup made
        with a newer schema is refused before anything is replaced."""
        store = import_backup(
            home,
            backup,
            backup_passphrase,
            store_passphrase=store_passphrase,
            kdf=kdf,
            unlock_seconds=unlock_seconds,
            schema=SCHEMA,
        )
        return cls._adopt(store)

    @classmethod
    def _adopt(cls, store: Store) -> Owner:
        try:
            return cls(store)
        except BaseException:
            store.close()
            raise

    @property
    def home(self) -> Path:
        return self.store.home

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- the data ------------------------------------------------------------------------------
    @cached_property
    def profile(self) -> Profile:
        from edge_dan.owner.profile import Profile

        return Profile(self.store)

    @cached_property
    def feedback(self) -> Feedback:
        from edge_dan.owner.feedback import Feedback

        return Feedback(self.store)

    @cached_property
    def contests(self) -> Contests:
        from edge_dan.owner.contests import Contests

        return Contests(self.store)

    @cached_property
    def peers(self) -> Peers:
        from edge_dan.owner.peers import Peers

        return Peers(self.store)

    @cached_property
    def advertising(self) -> Advertising:
        from edge_dan.owner.advertising import Advertising

        return Advertising(self.store)

    @cached_property
    def accords(self) -> Accords:
        from edge_dan.owner.accords import Accords

        return Accords(self.store)

    @cached_property
    def norms(self) -> Norms:
        from edge_dan.owner.norms import Norms

        return Norms(self.store)

    @cached_property
    def identity(self) -> OwnIdentity:
        from edge_dan.owner.identity import OwnIdentity

        return OwnIdentity(self.store)

    def rank(self, options: Sequence[str], model: Judge, *, top: int = 3) -> Ranking:
        """The owner's verdict on ``options``: those that would harm someone refused apart with
        the reason (unless the owner contested that very text), the rest best first for this
        owner (profile, every preference answer kept) with the values for and against each.
        ``model`` is a ``ValueModel`` (anything with its ``judge``). The rule of
        ``edge-dan score``::

            ranking = owner.rank(["Call my mother", "Punch the stranger"], ValueModel.load())
            ranking.ranked[0].text, ranking.ranked[0].explanation.text
            ranking.refused[0].harm.reason   # "harms another person: violence"
        """
        from edge_dan.values.ranking import rank_judged

        texts = list(options)
        return rank_judged(
            model.judge(texts),
            self.feedback.model(),
            texts=texts,
            top=top,
            contested=self.contests.option_keys(),
            preferences=[(a.preferred, a.rejected) for a in self.feedback.list()],
        )
