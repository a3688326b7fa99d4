"""`fengqiao node keys`: a node's message keys (issue 15 item 3), and the public files
`fengqiao node init` writes beside the config.

- `public-keys.json`: this node's public keys only (a one-node `keys.json`). The operator gathers
  every node's into the network's `keys.json` with `fengqiao deploy keys` and gives that to every
  node (its `keys_file`).
- `keys.json`: written only if there is none yet, listing this node alone, so a station works on
  its own before the network's file arrives (it cannot send to a node it does not list: such a
  command is refused, and nothing is written).

`node keys` adds a key pair to a secrets file that has none (a node set up before issue 15),
`--rotate` puts a fresh pair in front of the old one (rotation, `protocol.keydir`), `--drop-old`
keeps only the newest; every run writes `public-keys.json` again.
"""

from __future__ import annotations

import argparse
import errno
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from nodes.cli.context import CliError, Ctx, bilingual
from nodes.cli.parser import iso_date, leaf
from nodes.config import load_config
from nodes.domain.case import SHANGHAI
from nodes.i18n import N_, _
from nodes.secrets import read_secrets, replace_secrets, secrets_path
from protocol.keydir import KEYS_FILE_NAME, export_public, save_directory
from protocol.keys import TrustError, load_sealing_keys, load_signing_keys, new_sealing_key, new_signing_key

PUBLIC_KEYS_NAME = "public-keys.json"


@dataclass(frozen=True)
class KeyTexts:
    """A node's message keys as its secrets file holds them (newest first)."""

    node_id: str
    signing_key: str
    sealing_key: str


def fresh_keys(node_id: str) -> KeyTexts:
    return KeyTexts(node_id, new_signing_key(), new_sealing_key())


def write_public_files(folder: Path, keys: KeyTexts, keys_file: Path | None = None,
                       retire_after: datetime | None = None) -> Path:
    """This node's `public-keys.json`, and a starting `keys.json` if `keys_file` does not exist
    yet; returns the public file's path. OSError if a file cannot be written."""
    public = export_public(keys, retire_after=retire_after)
    path = folder / PUBLIC_KEYS_NAME
    save_directory(path, public)
    directory = keys_file or folder / KEYS_FILE_NAME
    if not directory.exists():
        save_directory(directory, public)
    return path


def register(subparsers: Any) -> None:
    from nodes.cli.node_cmds import node_group  # the `node` group is made there

    p = leaf(node_group(subparsers), "keys",
             _("add, rotate or export this node's message keys (signing and sealing)"))
    p.add_argument("--rotate", action="store_true",
                   help=_("put a fresh key pair in front of the current one (keep the old one "
                          "until every node has the new keys.json)"))
    p.add_argument("--retire-after", type=iso_date, metavar="YYYY-MM-DD",
                   help=_("list the older key pairs as valid until the end of this day"))
    p.add_argument("--drop-old", action="store_true",
                   help=_("keep only the newest key pair (after the old one has retired)"))
    p.set_defaults(handler=keys_command)


def _checked(texts: KeyTexts) -> int:
    """How many key pairs the texts hold; CliError if they are not keys or do not pair up."""
    try:
        signing, sealing = load_signing_keys(texts.signing_key), load_sealing_keys(
            texts.sealing_key)
    except TrustError as exc:
        raise CliError("keys_bad", N_("the node's message keys cannot be used: {detail}"),
                       detail=str(exc)) from None
    if len(signing) != len(sealing):
        raise CliError("keys_unpaired", N_(
            "the secrets file holds {signing} signing keys but {sealing} sealing keys; they "
            "rotate together"), signing=len(signing), sealing=len(sealing))
    return len(signing)


def _end_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


def keys_command(args: argparse.Namespace, ctx: Ctx) -> int:
    path = ctx.config_path
    if not path.is_file():
        raise bilingual("config_missing", path=path)
    config = load_config(path, with_secrets=False)
    secrets_file = secrets_path(path, config.secrets_file)
    values: dict[str, str | None] = dict(read_secrets(secrets_file))
    signing, sealing = values.get("signing_key"), values.get("sealing_key")
    if bool(signing) != bool(sealing):
        raise CliError("keys_half", N_("the secrets file {path} holds only one of signing_key and "
                                       "sealing_key; add the other or remove both"),
                       path=secrets_file)
    texts = KeyTexts(config.node_id, signing or "", sealing or "")
    added = not signing or args.rotate
    if added:
        new = fresh_keys(config.node_id)
        texts = KeyTexts(config.node_id, f"{new.signing_key} {texts.signing_key}".strip(),
                         f"{new.sealing_key} {texts.sealing_key}".strip())
    if args.drop_old:
        texts = KeyTexts(config.node_id, texts.signing_key.split()[0],
                         texts.sealing_key.split()[0])
    pairs = _checked(texts)
    try:
        if texts.signing_key != signing or texts.sealing_key != sealing:
            replace_secrets(secrets_file, {**values, "signing_key": texts.signing_key,
                                           "sealing_key": texts.sealing_key})
        public = write_public_files(path.parent, texts, config.keys_file,
                                    _end_of(args.retire_after))
    except OSError as exc:
        raise bilingual("write_failed", path=exc.filename or path.parent,
                        detail=errno.errorcode.get(exc.errno or 0, "?")) from None
    ctx.say(_("node {node}: {pairs} message key pair(s) in {secrets}{added}", node=config.node_id,
              pairs=pairs, secrets=secrets_file, added=_(" (a fresh pair added)") if added else ""))
    ctx.say(_("public keys: {path}; gather every node's into the network's keys.json with "
              "fengqiao deploy keys and give it to every node", path=public))
    return 0
