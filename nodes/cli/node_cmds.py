"""`fengqiao node init`: a node's TOML config, holiday folder and database from an area code.

Other `node` sub-commands (e.g. `node run`) register into the same group through
`register_node_command`.
"""

from __future__ import annotations

import argparse
import errno
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nodes.cli.context import Ctx, bilingual
from nodes.cli.i18n import t
from nodes.cli.key_cmds import PUBLIC_KEYS_NAME, fresh_keys, write_public_files
from nodes.cli.node_files import HOLIDAYS_README, InitSettings, config_text
from nodes.cli.options import named_choice
from nodes.cli.parser import group, leaf, positive_int
from nodes.config import NodeConfig, without_password
from nodes.crypto import new_identity_key, new_key
from nodes.i18n import _
from nodes.labels import tier_label
from nodes.secrets import SECRETS_NAME, write_secrets
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier, default_parent, tier_of, validate_code


def node_group(subparsers: Any) -> Any:
    """The `node` group's sub-parsers, shared by every module that adds a `node` command."""
    return group(subparsers, "node", _("node set-up and running"))


def register(subparsers: Any) -> None:
    p = leaf(node_group(subparsers), "init",
             _("create a node's config file and database"),
             epilog=_("example:") + "\n  fengqiao node init --code 330681111242 --name 状元村 "
                                    "--dir ./zhuangyuan")
    p.add_argument("--code", required=True, help=_("12-digit area code"))
    tier, tiers = named_choice([t.value for t in Tier], tier_label, _("tier"))
    p.add_argument("--tier", type=tier, metavar="TIER",
                   help=_("tier (default: derived from the code): {choices}", choices=tiers))
    p.add_argument("--name", default="", help=_("display name"))
    p.add_argument("--dir", help=_("folder for fengqiao.toml (default: the current folder)"))
    p.add_argument("--parent", help=_("parent code (default: derived from the code)"))
    p.add_argument("--broker-url", default="memory://",
                   help=_("broker URL (default memory://: no broker)"))
    p.add_argument("--identity-key", metavar="KEY",
                   help=_("the network's identity key for the party hash, the same at every node "
                          "(default: a new random one, for the first node of a network)"))
    p.add_argument("--target-days", type=positive_int, default=30,
                   help=_("target days per tier (default 30)"))
    p.set_defaults(handler=init)


def _target(args: argparse.Namespace, ctx: Ctx) -> Path:
    if args.dir:
        return Path(args.dir) / "fengqiao.toml"
    return ctx.config_path  # --config / $FENGQIAO_CONFIG / ./fengqiao.toml


def init(args: argparse.Namespace, ctx: Ctx) -> int:
    code = validate_code(args.code.strip())
    derived = tier_of(code)
    tier = Tier(args.tier) if args.tier else derived
    if tier is not derived:
        raise bilingual("tier_mismatch", tier=tier_label(tier), code=code,
                        derived=tier_label(derived))
    parent = validate_code(args.parent.strip()) if args.parent else None
    if parent is not None and tier is Tier.CITY:
        raise bilingual("parent_city")
    if parent is not None and tier_of(parent).rank <= tier.rank:
        raise bilingual("parent_bad", parent=parent)
    identity = args.identity_key if args.identity_key is not None else new_identity_key()
    if len(identity) < 16:
        raise bilingual("identity_short")
    url = urllib.parse.urlsplit(args.broker_url)
    password = urllib.parse.unquote(url.password) if url.password else None
    broker_url = without_password(args.broker_url)
    settings = InitSettings(code, tier, args.name.strip(), parent,
                            None if tier is Tier.CITY else default_parent(code),
                            broker_url, args.target_days)
    text = config_text(settings)
    keys = fresh_keys(code)  # every message is signed, personal data sealed (issue 15)
    secrets = {"data_key": new_key(), "identity_key": identity, "broker_password": password,
               "signing_key": keys.signing_key, "sealing_key": keys.sealing_key}
    _validate(text, secrets)
    path = _target(args, ctx)
    folder = path.parent
    secrets_file = folder / SECRETS_NAME
    for existing in (path, secrets_file, folder / PUBLIC_KEYS_NAME):
        if existing.exists():
            raise bilingual("config_exists", path=existing)
    db_path, holidays = folder / settings.database, folder / settings.calendar_dir
    existed = db_path.exists()
    try:
        holidays.mkdir(parents=True, exist_ok=True)
        readme = holidays / "README.md"
        if not readme.exists():
            readme.write_text(HOLIDAYS_README, encoding="utf-8")
        SqliteStore(db_path).close()  # opening runs the migrations
        write_secrets(secrets_file, secrets)  # 0600 from the first byte, never overwritten
        try:
            with path.open("x", encoding="utf-8") as fh:  # "x": never overwrite
                fh.write(text)
        except BaseException:  # no secrets without their config: nothing half-written
            secrets_file.unlink(missing_ok=True)
            raise
        public = write_public_files(folder, keys)
    except FileExistsError as exc:
        raise bilingual("config_exists", path=exc.filename or path) from None
    except OSError as exc:
        raise bilingual("write_failed", path=exc.filename or folder,
                        detail=errno.errorcode.get(exc.errno or 0, "?")) from None
    name = f" {settings.name}" if settings.name else ""
    ctx.say(t("init_done", node_id=code, tier=tier_label(tier), name=name))
    shown_parent = parent or settings.derived_parent
    if shown_parent:
        ctx.say(t("init_parent", parent=shown_parent))
    ctx.say(t("init_config", path=path.resolve()))
    ctx.say(t("init_db_kept" if existed else "init_db", path=db_path.resolve()))
    ctx.say(t("init_holidays", path=holidays.resolve()))
    ctx.say(t("init_secrets", path=secrets_file.resolve()))
    ctx.say(t("init_salt"))
    ctx.say(t("init_data_key", path=secrets_file.resolve()))
    ctx.say(_("  message keys: signing_key and sealing_key in {secrets}; public keys in {path} "
              "(gather every node's into the network's keys.json: fengqiao deploy keys)",
              secrets=secrets_file.resolve(), path=public.resolve()))
    ctx.say(t("init_next", dir=folder.resolve(), path=path.resolve()))
    return 0


def _validate(text: str, secrets: dict[str, str | None]) -> None:
    """The files we are about to write must load; a failure here is a bug (an internal error)."""
    try:
        NodeConfig.model_validate({**tomllib.loads(text), **secrets})
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise AssertionError(f"generated config does not validate: {exc}") from None
