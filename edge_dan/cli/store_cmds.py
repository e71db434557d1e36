"""Commands that manage the store and the identity: init, whoami, passwd, rekey, export, import,
keyring, check."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edge_dan.cli.context import Context
from edge_dan.errors import StoreError, StoreExists
from edge_dan.owner import Owner
from edge_dan.store.backup import check_header, export_backup
from edge_dan.store.keyfile import calibrate
from edge_dan.store.store import Store
from edge_dan.unlock import (
    BACKUP_PASSPHRASE_ENV,
    NEW_PASSPHRASE_ENV,
    PASSPHRASE_ENV,
    ask,
    disable_keyring,
    enable_keyring,
    unlock_passphrase,
    update_keyring,
)
from edge_dan.values.profile import ValueProfile

WEAK_PASSPHRASE = 8


def cmd_init(ctx: Context, args: argparse.Namespace) -> None:
    if Store.exists(ctx.home):
        raise StoreExists(
            f"{ctx.home} already holds a store; use another --home or 'edge-dan import'"
        )
    passphrase = ask("new passphrase", PASSPHRASE_ENV, confirm=True)
    if len(passphrase) < WEAK_PASSPHRASE:
        ctx.note(f"warning: a passphrase under {WEAK_PASSPHRASE} characters is easy to guess")
    kdf = calibrate(args.unlock_time)
    started = time.perf_counter()
    with Owner.create(ctx.home, passphrase, kdf=kdf) as owner:
        unlock = time.perf_counter() - started
        identity = owner.identity.ensure()
        owner.profile.update(ValueProfile.neutral(), source="init", note="new store")
        if args.keyring:
            enable_keyring(ctx.home, passphrase)
        ctx.emit(
            {
                "home": str(ctx.home),
                "store_id": owner.store.store_id,
                "fingerprint": identity.fingerprint,
                "kdf": {"opslimit": kdf.opslimit, "memlimit": kdf.memlimit},
                "keyring": bool(args.keyring),
            },
            f"Created a store in {ctx.home}\n"
            f"Fingerprint: {identity.fingerprint}\n"
            f"Unlocking costs about {unlock:.2f} s here "
            f"(Argon2id, {kdf.memlimit // 2**20} MiB, {kdf.opslimit} passes).",
        )


def cmd_whoami(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        identity = owner.identity.ensure()
        ctx.emit(
            {
                "fingerprint": identity.fingerprint,
                "public_key": identity.public_key.hex(),
                "static_public_key": identity.static_public_key.hex(),
                "home": str(ctx.home),
                "created_at": owner.store.get_meta("created_at"),
            },
            f"Fingerprint:  {identity.fingerprint}\n"
            f"Identity key: {identity.public_key.hex()}\n"
            f"Session key:  {identity.static_public_key.hex()} (signed by the identity key)\n"
            f"Home:         {ctx.home}",
        )


def cmd_passwd(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        new = ask("new passphrase", NEW_PASSPHRASE_ENV, confirm=True)
        owner.store.change_passphrase(new, unlock_seconds=args.unlock_time)
        update_keyring(ctx.home, new)
    ctx.emit({"changed": True}, "Passphrase changed; the old one no longer opens the store.")


def cmd_rekey(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        owner.store.rekey()
    ctx.emit({"rekeyed": True}, "The database now has a new key; every page was re-encrypted.")


def cmd_export(ctx: Context, args: argparse.Namespace) -> None:
    target = Path(args.file)
    try:
        taken = target.exists()
    except OSError as exc:  # a name too long, a component that is a file, no permission
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from None
    if taken and not args.force:
        raise StoreExists(f"{target} exists; add --force to overwrite it")
    with ctx.open_owner() as owner:
        passphrase = ask("backup passphrase", BACKUP_PASSPHRASE_ENV, confirm=True)
        export_backup(owner.store, target, passphrase, unlock_seconds=args.unlock_time)
    ctx.emit({"backup": str(target)}, f"Encrypted backup written to {target}")


def cmd_import(ctx: Context, args: argparse.Namespace) -> None:
    source = Path(args.file)
    existing = Store.exists(ctx.home)
    if existing and not args.replace:
        raise StoreExists(f"{ctx.home} already holds a store; add --replace to overwrite it")
    check_header(source)  # a file that is no backup is refused before any passphrase is asked
    backup_passphrase = ask("backup passphrase", BACKUP_PASSPHRASE_ENV)
    if existing:
        store_passphrase = unlock_passphrase(ctx.home)
        opens_with = "The store keeps its passphrase."
    else:
        # The new store's own passphrase, never silently the backup's: the next command asks
        # for $EDGE_DAN_PASSPHRASE, and the owner should not have to guess which one it is.
        store_passphrase = ask("passphrase for the new store", PASSPHRASE_ENV, confirm=True)
        opens_with = "The new store opens with its own passphrase ($EDGE_DAN_PASSPHRASE), "
        opens_with += "not the backup's."
    with Owner.restore(
        ctx.home,
        source,
        backup_passphrase,
        store_passphrase=store_passphrase,
        unlock_seconds=args.unlock_time,
    ) as owner:
        identity = owner.identity.ensure()
    ctx.emit(
        {"home": str(ctx.home), "fingerprint": identity.fingerprint, "replaced": existing},
        f"Restored {source} into {ctx.home}\nFingerprint: {identity.fingerprint}\n{opens_with}",
    )


def cmd_keyring(ctx: Context, args: argparse.Namespace) -> None:
    if args.action == "enable":
        passphrase = unlock_passphrase(ctx.home)
        Store.open(ctx.home, passphrase, check=False).close()  # only a working passphrase is kept
        enable_keyring(ctx.home, passphrase)
        ctx.emit({"keyring": True}, "The OS keyring now holds the passphrase for this home.")
    else:
        disable_keyring(ctx.home)
        ctx.emit({"keyring": False}, "The OS keyring no longer holds the passphrase.")


# What `check` names the store's engine as (edge_dan.store.engines).
ENGINE_WORDS = {
    "sqlcipher": "SQLCipher, encrypted pages",
    "sqlite": "stdlib sqlite3, each commit a sealed snapshot",
}


def cmd_check(ctx: Context, args: argparse.Namespace) -> None:
    # Opening verifies every page (Store.open(check=True)) and raises StoreCorrupt naming the
    # file; nothing more to do once it succeeds.
    owner = ctx.open_owner()
    engine = owner.store.backend
    owner.close()
    ctx.emit(
        {"ok": True, "engine": engine},
        f"{ctx.home / 'store.db'}: every page verified ({ENGINE_WORDS.get(engine, engine)}).",
    )
