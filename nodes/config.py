"""One TOML file per node (DESIGN §5). A bad file stops the program with one sentence naming the field."""

from __future__ import annotations

import re
import tomllib
import urllib.parse
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from nodes.domain.clock_book import (
    DEFAULT_ACCEPTANCE_DAYS,
    DEFAULT_DUE_SOON_DAYS,
    DEFAULT_FOLLOW_UP_DAYS,
)
from nodes.domain.risk import RiskRules
from nodes.domain.tracks import TrackRule
from nodes.identity import IdentityCostName
from nodes.messaging.settings import ESCALATIONS_PER_HOUR
from nodes.notices.config import NoticesConfig
from nodes.secrets import read_secrets, secrets_path
from protocol.areas import AreaCodeError, AreaTree, Tier, default_parent, tier_of, validate_code
from protocol.text import N_, Translatable

NodeId = Annotated[str, AfterValidator(validate_code)]
DEFAULT_CONFIG_NAME = "fengqiao.toml"


class ConfigError(Translatable, ValueError):
    """The configuration cannot be used: one sentence naming the file and the field."""


class TierMismatch(Translatable, ValueError):
    """`tier` contradicts `node_id` (raised inside validation, reported for field 'tier')."""


# pydantic's error types -> what the operator reads about the field ({file}, {field}, and the
# error's own context such as {min_length}).
_FIELD_PROBLEMS: dict[str, str] = {
    "missing": N_("config file {file}: field '{field}' is missing"),
    "extra_forbidden": N_("config file {file}: field '{field}' is not a setting fengqiao knows"),
    "string_too_short": N_("config file {file}: field '{field}' needs at least {min_length} "
                           "characters"),
    "greater_than_equal": N_("config file {file}: field '{field}' must be at least {ge}"),
    "less_than_equal": N_("config file {file}: field '{field}' must be at most {le}"),
    "int_parsing": N_("config file {file}: field '{field}' must be a whole number"),
    "int_type": N_("config file {file}: field '{field}' must be a whole number"),
    "bool_parsing": N_("config file {file}: field '{field}' must be true or false"),
    "bool_type": N_("config file {file}: field '{field}' must be true or false"),
    "string_type": N_("config file {file}: field '{field}' must be text in quotes"),
    "enum": N_("config file {file}: field '{field}' must be one of {expected}"),
    "literal_error": N_("config file {file}: field '{field}' must be one of {expected}"),
}
_FIELD_OTHER = N_("config file {file}: field '{field}' does not have an allowed value")
_FIELD_DETAIL = N_("config file {file}: field '{field}': {detail}")


def field_error(file: Path, error: Any) -> ConfigError:
    """One of pydantic's errors as the operator's sentence (never pydantic's English)."""
    field = ".".join(str(p) for p in error["loc"]) or "(file)"
    ctx = dict(error.get("ctx") or {})
    cause = ctx.get("error")
    if isinstance(cause, Translatable):
        return ConfigError("config_field", _FIELD_DETAIL, file=str(file), field=field,
                           detail=cause)
    template = _FIELD_PROBLEMS.get(error["type"], _FIELD_OTHER)
    params = {k: v for k, v in ctx.items() if isinstance(v, str | int | float)}
    return ConfigError("config_field", template, file=str(file), field=field, **params)


LISTEN = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})$")


def check_listen(value: str) -> str:
    """`host:port` (a name, an IPv4 address or a bracketed IPv6 one; port 1 to 65535), or ""
    for no web app."""
    value = value.strip()
    match = LISTEN.match(value)
    if value and (match is None or not 1 <= int(match["port"]) <= 65535):
        raise ConfigError("web_listen", N_(
            'must be an address and port such as "127.0.0.1:8080", or "" for no web app'))
    return value


class WebConfig(BaseModel):
    """`[web]`: where the node's web app listens (issue 17); "" serves none. `secure_cookies`:
    the session cookie is marked Secure (set it when a TLS proxy stands in front)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: Annotated[str, AfterValidator(check_listen)] = "127.0.0.1:8080"
    secure_cookies: bool = False
    # Minutes without a request after which a login has to be given again.
    idle_minutes: int = Field(default=30, ge=1, le=24 * 60)

    @property
    def host_port(self) -> tuple[str, int] | None:
        match = LISTEN.match(self.listen)
        if match is None:
            return None
        return match["host"].strip("[]"), int(match["port"])


# Fields that are secrets: they come from the secrets file (nodes.secrets), never the config.
SECRET_FIELDS = ("data_key", "identity_key", "broker_password", "signing_key", "sealing_key",
                 "sms_auth")


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    node_id: NodeId
    tier: Tier
    name: str = ""
    parent: NodeId | None = None
    children: tuple[NodeId, ...] = ()
    database: Path
    broker_url: str = "memory://"
    calendar_dir: Path | None = None
    target_days: int = Field(default=30, ge=1, le=365)
    max_extension_days: int = Field(default=30, ge=0, le=365)
    # Registration (or an arrival from below) to the acceptance decision, and the last
    # performance date (or a settlement above) to the follow-up visit: calendar days. 人民调解法
    # sets neither limit, so each clock names this setting as its basis.
    acceptance_days: int = Field(default=DEFAULT_ACCEPTANCE_DAYS, ge=1, le=365)
    follow_up_days: int = Field(default=DEFAULT_FOLLOW_UP_DAYS, ge=1, le=365)
    # A running clock due within this many days is "due soon" (the today page; the deadline
    # sweep, `nodes.deadline_sweep`, reports it to the tiers above); 0: due today.
    due_soon_days: int = Field(default=DEFAULT_DUE_SOON_DAYS, ge=0, le=60)
    vintage_year: int = Field(default=2024, ge=1980, le=2100)
    lang: str = Field(default="zh", pattern="^(zh|en)$")
    # Accept only messages whose broker-validated user id is the sender's node id (one RabbitMQ
    # user per node). On by default; a network whose broker has one shared user cannot run so.
    require_user_id: bool = True
    # Where the secrets are (relative to the config's folder); `$CREDENTIALS_DIRECTORY` (systemd
    # LoadCredential) is looked at first.
    secrets_file: Path | None = None
    # The party hash's cost profile, network-wide like the key (every node must hash alike):
    # "standard" (Argon2id, ~20 ms a hash) for real data; "test" only for invented data (the
    # tests, the demo, the bench). Not a secret. See nodes/identity.py.
    identity_cost: IdentityCostName = "standard"
    # Declare the broker topology at start (true) or only check that it exists (false: the node's
    # broker user holds no configure right; `deploy apply` declared everything). Unset: true for
    # the in-memory broker, false on RabbitMQ (least privilege, issue 15).
    declare_topology: bool | None = None
    # The network's public keys (`fengqiao deploy keys` gathers them): every message is checked
    # against its sender's listed key and personal data is sealed to the receiver's. Read from a
    # file it defaults to keys.json beside the config; unset only for a node built in code, whose
    # keys then come from an in-process keyring (nodes/keyring.py).
    keys_file: Path | None = None
    # A hub: escalations one child may send in an hour before the escalation_rate alarm, after
    # which its further ones wait behind the other children's messages (nodes.messaging.pacing).
    escalations_per_hour: int = Field(default=ESCALATIONS_PER_HOUR, ge=1, le=1_000_000)
    # 督办: the how-manyth overdue order on one case raises the level to listed supervision
    # (挂牌督办) with a new order; 0 never raises (issue 18).
    raise_after_overdue: int = Field(default=2, ge=0, le=10)
    # Risk colour per case (`nodes.domain.risk`): `[risk]` red_people, yellow_people,
    # red_overdue_days, repeat_is_yellow.
    risk: RiskRules = RiskRules()
    # Fast tracks (`nodes.domain.tracks`): `[[tracks]]` tables, tried in order; none by default.
    tracks: tuple[TrackRule, ...] = ()
    web: WebConfig = WebConfig()
    # Notices to parties and staff alerts (`nodes.notices`): `[notices]` adapter, url, timeout_s,
    # auth_header, templates.
    notices: NoticesConfig = NoticesConfig()
    # --- secrets: filled from the secrets file, refused in the config file ---------------------
    # Key for personal data at rest; if unset, the environment variable FENGQIAO_DATA_KEY is used.
    data_key: str | None = None
    # The network's key for the cross-station party identity hash (one value for the network).
    identity_key: str | None = Field(default=None, min_length=16)
    broker_password: str | None = None
    signing_key: str | None = None  # this node's Ed25519 private key (urlsafe base64)
    sealing_key: str | None = None  # this node's X25519 private key (urlsafe base64)
    sms_auth: str | None = None  # the SMS gateway's auth header value ([notices] auth_header)

    @field_validator("tier")
    @classmethod
    def _tier_fits_code(cls, tier: Tier, info: ValidationInfo) -> Tier:
        code = info.data.get("node_id")
        if code is not None and tier_of(code) is not tier:
            raise TierMismatch("tier_mismatch", N_('"{tier}" does not match node_id {code} (that '
                                                   'code needs tier = "{derived}")'),
                               tier=tier.value, code=code, derived=tier_of(code).value)
        return tier

    @property
    def declares_topology(self) -> bool:
        """Whether this node declares the topology itself (see `declare_topology`)."""
        if self.declare_topology is not None:
            return self.declare_topology
        return self.broker_url.startswith("memory://")

    @property
    def parent_id(self) -> str | None:
        """Configured parent, else derived by zeroing the next level; the city has none."""
        if self.tier is Tier.CITY:
            return None
        return self.parent or default_parent(self.node_id)

    def area_tree(self) -> AreaTree:
        """Derived parents, overridden by what this config says about the node and its children."""
        overrides: dict[str, str | None] = {child: self.node_id for child in self.children}
        if self.parent is not None:
            overrides[self.node_id] = self.parent
        return AreaTree(overrides=overrides, vintage_year=self.vintage_year)

    @property
    def broker_address(self) -> str:
        """The broker URL with the password from the secrets file (never written to disk)."""
        return with_password(self.broker_url, self.broker_password)


def without_password(url: str) -> str:
    """`url` with any password taken out (it belongs in the secrets file)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}@{host}"))


def with_password(url: str, password: str | None) -> str:
    """`url` with `password` put in (URL-quoted) when it names a user and has none."""
    parts = urllib.parse.urlsplit(url)
    if password is None or not parts.username or parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}:{urllib.parse.quote(password, safe='')}@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def load_config(path: str | Path, *, with_secrets: bool = True) -> NodeConfig:
    """Read and validate; relative paths in the file are relative to the file's folder.
    `with_secrets=False` is for tools that read the network's shape only (`deploy`): they run
    where the configs are gathered, which holds no node's secrets."""
    file = Path(path)
    try:
        raw: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config_missing", N_("config file {file} not found"),
                          file=str(file)) from None
    except UnicodeDecodeError:
        raise ConfigError("config_encoding", N_("config file {file} is not UTF-8 text"),
                          file=str(file)) from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError("config_toml", N_("config file {file} is not valid TOML (line {line})"),
                          file=str(file), line=line.group(1) if line else "?") from None
    except OSError:
        raise ConfigError("config_unreadable", N_("config file {file} cannot be read"),
                          file=str(file)) from None
    for key in SECRET_FIELDS:
        if key in raw:
            raise ConfigError("secret_in_config", N_(
                "config file {file}: field '{field}' is a secret: move it to the secrets file "
                "(mode 0600), never the config beside the database"), file=str(file), field=key)
    url = urllib.parse.urlsplit(str(raw.get("broker_url", "")))
    if url.password:
        raise ConfigError("password_in_config", N_(
            "config file {file}: field 'broker_url' holds a password: put it in the secrets "
            "file as broker_password"), file=str(file))
    raw.setdefault("keys_file", "keys.json")
    for key in ("database", "calendar_dir", "secrets_file", "keys_file"):
        if isinstance(raw.get(key), str) and not Path(raw[key]).is_absolute():
            raw[key] = str(file.parent / raw[key])
    if with_secrets:
        raw.update(read_secrets(secrets_path(file, raw.get("secrets_file"))))
    try:
        return NodeConfig.model_validate(raw)
    except ValidationError as exc:
        raise field_error(file, exc.errors()[0]) from None
    except AreaCodeError as exc:
        raise ConfigError("config_area", N_("config file {file}: {detail}"), file=str(file),
                          detail=exc) from None
