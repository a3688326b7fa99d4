"""`fengqiao node init`: a node's TOML config, holiday folder and database from an area code.

Other `node` sub-commands (e.g. `node run`) register into the same group through
`register_node_command`.
"""

from __future__ import annotations

import argparse
import secrets
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nodes.cli.context import CliError, Ctx, bilingual
from nodes.cli.i18n import t
from nodes.cli.labels import tier_label
from nodes.cli.node_files import HOLIDAYS_README, InitSettings, config_text
from nodes.cli.parser import group, leaf, positive_int
from nodes.config import ConfigError, NodeConfig
from nodes.crypto import new_key
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import AreaCodeError, Tier, default_parent, tier_of, validate_code


def node_group(subparsers: Any) -> Any:
    """The `node` group's sub-parsers, shared by every module that adds a `node` command."""
    return group(subparsers, "node", "节点管理 / node set-up and running")


def register(subparsers: Any) -> None:
    p = leaf(node_group(subparsers), "init",
             "新建节点：写配置文件、建数据库 / create a node's config file and database",
             epilog="示例 / example:\n  fengqiao node init --code 330681111242 --name 状元村 "
                    "--dir ./zhuangyuan")
    p.add_argument("--code", required=True, help="12位区划代码 / 12-digit area code")
    p.add_argument("--tier", choices=[t.value for t in Tier],
                   help="层级（默认由代码推导）/ tier (default: derived from the code)")
    p.add_argument("--name", default="", help="名称，如 状元村 / display name")
    p.add_argument("--dir", help="目录（默认当前目录）/ folder for fengqiao.toml (default: .)")
    p.add_argument("--parent", help="上级代码（默认由代码推导）/ parent code (default: derived)")
    p.add_argument("--broker-url", default="memory://",
                   help="RabbitMQ 地址 / broker URL (default memory://: no broker)")
    p.add_argument("--salt", help="全网共用的当事人哈希盐值（默认随机）/ network-wide party-hash "
                                  "salt (default: random)")
    p.add_argument("--target-days", type=positive_int, default=30,
                   help="每级调解期限天数 / target days per tier (default 30)")
    p.set_defaults(handler=init)


def _check_code(code: str) -> str:
    try:
        return validate_code(code)
    except AreaCodeError as exc:
        raise bilingual_area(code, str(exc)) from None


def bilingual_area(code: str, detail_en: str) -> CliError:
    detail = detail_en.removeprefix(f"area code {code}: ").removeprefix(f"area code {code!r} ")
    return CliError(t("area_bad", "zh", code=code, detail=_explain_zh(code)),
                    t("area_bad", "en", code=code, detail=detail))


def _explain_zh(code: str) -> str:
    if len(code) != 12 or not code.isdigit():
        return "应为12位数字（如 330681111242）"
    province, city, town, village = code[0:2], code[2:4], code[6:9], code[9:12]
    if province == "00":
        return "省级代码为00"
    if city == "00":
        return "地市代码为00（省不能作为节点）"
    if town == "000" and village != "000":
        return "乡镇代码为000，村代码却不为000"
    part = town if town != "000" and not 1 <= int(town) <= 399 else village
    return f"乡镇或村代码 {part} 超出 001–399 范围"


def _target(args: argparse.Namespace, ctx: Ctx) -> Path:
    if args.dir:
        return Path(args.dir) / "fengqiao.toml"
    return ctx.config_path  # --config / $FENGQIAO_CONFIG / ./fengqiao.toml


def init(args: argparse.Namespace, ctx: Ctx) -> int:
    code = _check_code(args.code.strip())
    derived = tier_of(code)
    tier = Tier(args.tier) if args.tier else derived
    if tier is not derived:
        raise CliError(t("tier_mismatch", "zh", tier=tier.value, code=code,
                         derived=tier_label(derived.value, "zh")),
                       t("tier_mismatch", "en", tier=tier.value, code=code, derived=derived.value))
    parent = _check_code(args.parent.strip()) if args.parent else None
    if parent is not None and tier is Tier.CITY:
        raise bilingual("parent_city")
    if parent is not None and tier_of(parent).rank <= tier.rank:
        raise bilingual("parent_bad", parent=parent)
    salt = args.salt if args.salt is not None else secrets.token_hex(16)
    if len(salt) < 8:
        raise bilingual("salt_short")
    settings = InitSettings(code, tier, args.name.strip(), parent,
                            None if tier is Tier.CITY else default_parent(code),
                            args.broker_url, salt, args.target_days, data_key=new_key())
    text = config_text(settings)
    _validate(text)
    path = _target(args, ctx)
    if path.exists():
        raise bilingual("config_exists", path=path)
    folder = path.parent
    db_path, holidays = folder / settings.database, folder / settings.calendar_dir
    existed = db_path.exists()
    try:
        holidays.mkdir(parents=True, exist_ok=True)
        readme = holidays / "README.md"
        if not readme.exists():
            readme.write_text(HOLIDAYS_README, encoding="utf-8")
        SqliteStore(db_path).close()  # opening runs the migrations
        with path.open("x", encoding="utf-8") as fh:  # "x": never overwrite
            fh.write(text)
    except FileExistsError:
        raise bilingual("config_exists", path=path) from None
    except OSError as exc:
        raise bilingual("write_failed", path=exc.filename or folder,
                        detail=exc.strerror or exc) from None
    lang = ctx.lang
    name = f" {settings.name}" if settings.name else ""
    ctx.say(t("init_done", lang, node_id=code, tier=tier_label(tier.value, lang), name=name))
    shown_parent = parent or settings.derived_parent
    if shown_parent:
        ctx.say(t("init_parent", lang, parent=shown_parent))
    ctx.say(t("init_config", lang, path=path.resolve()))
    ctx.say(t("init_db_kept" if existed else "init_db", lang, path=db_path.resolve()))
    ctx.say(t("init_holidays", lang, path=holidays.resolve()))
    ctx.say(t("init_salt", lang))
    ctx.say(t("init_data_key", lang, path=path.resolve()))
    ctx.say(t("init_next", lang, dir=folder.resolve(), path=path.resolve()))
    return 0


def _validate(text: str) -> None:
    """The file we are about to write must load; a failure here is a bug, shown as ConfigError."""
    try:
        NodeConfig.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"generated config does not validate: {exc}") from None
