"""One TOML file per node (DESIGN §5). A bad file stops the program with one sentence naming the field."""

from __future__ import annotations

import tomllib
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

from protocol.areas import AreaCodeError, AreaTree, Tier, default_parent, tier_of, validate_code

NodeId = Annotated[str, AfterValidator(validate_code)]
DEFAULT_CONFIG_NAME = "fengqiao.toml"


class ConfigError(ValueError):
    """The configuration cannot be used; str() is the one sentence shown to the operator."""


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
    party_hash_salt: str = Field(min_length=8)
    vintage_year: int = Field(default=2024, ge=1980, le=2100)
    lang: str = Field(default="zh", pattern="^(zh|en)$")
    # Security (issue 4). require_user_id: accept only messages whose broker-validated user id is
    # the sender's node id (one RabbitMQ user per node; off for the embedded transport and tests).
    require_user_id: bool = False
    # Key for personal data at rest; if unset, the environment variable FENGQIAO_DATA_KEY is used.
    data_key: str | None = None

    @field_validator("tier")
    @classmethod
    def _tier_fits_code(cls, tier: Tier, info: ValidationInfo) -> Tier:
        code = info.data.get("node_id")
        if code is not None and tier_of(code) is not tier:
            raise ValueError(f"tier {tier.value} does not match code {code} "
                             f"(a {tier_of(code).value} code)")
        return tier

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


def load_config(path: str | Path) -> NodeConfig:
    """Read and validate; relative paths in the file are relative to the file's folder."""
    file = Path(path)
    try:
        raw: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} not found / 找不到配置文件") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {file} cannot be read: {exc.strerror}") from None
    for key in ("database", "calendar_dir"):
        if isinstance(raw.get(key), str) and not Path(raw[key]).is_absolute():
            raw[key] = str(file.parent / raw[key])
    try:
        return NodeConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ConfigError(f"config file {file}: field '{field}': {first['msg']}") from None
    except AreaCodeError as exc:
        raise ConfigError(f"config file {file}: {exc}") from None
