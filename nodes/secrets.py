"""A node's secrets, kept apart from its config: the data key, the network's identity key, the
broker password and the node's signing and sealing keys.

They live in one TOML file readable by its owner only (mode 0600), by default `secrets.toml`
beside the config, or in systemd's credentials folder (`LoadCredential=fengqiao-secrets.toml:...`
puts it in `$CREDENTIALS_DIRECTORY`). The config file itself holds no secret: a config that
does is refused with one sentence, as is a secrets file others can read.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from protocol.text import N_, Translatable

SECRETS_NAME = "secrets.toml"
CREDENTIAL_NAME = "fengqiao-secrets.toml"
SECRET_KEYS = ("data_key", "identity_key", "broker_password", "signing_key", "sealing_key",
               "sms_auth")


class SecretsError(Translatable, ValueError):
    """The secrets file cannot be used: one sentence naming the file."""


def secrets_path(config_file: Path, configured: str | Path | None) -> Path:
    """Where this node's secrets are: systemd's credentials folder, else the configured file,
    else `secrets.toml` beside the config."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / CREDENTIAL_NAME).is_file():
        return Path(credentials) / CREDENTIAL_NAME
    if configured:
        return Path(configured)
    return config_file.parent / SECRETS_NAME


def read_secrets(path: Path) -> dict[str, Any]:
    """The secrets in `path` ({} if there is no such file: the environment may give the data
    key, and a missing identity key is reported by the config's own check)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError:
        raise SecretsError("secrets_unreadable", N_("secrets file {path} cannot be read"),
                           path=str(path)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsError("secrets_open", N_(
            "secrets file {path} can be read by others (mode {mode}); run chmod 600 on it"),
            path=str(path), mode=oct(stat.S_IMODE(mode))[2:])
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise SecretsError("secrets_unreadable", N_("secrets file {path} cannot be read"),
                           path=str(path)) from None
    unknown = sorted(set(raw) - set(SECRET_KEYS))
    if unknown:
        raise SecretsError("secrets_unknown", N_(
            "secrets file {path}: field '{field}' is not a secret fengqiao knows"),
            path=str(path), field=unknown[0])
    return {k: v for k, v in raw.items() if isinstance(v, str)}


def secrets_text(values: dict[str, str | None]) -> str:
    """The secrets file's text (TOML; only the values given)."""
    lines = ["# fengqiao 节点密钥 / node secrets. SECRET: mode 0600, never committed.",
             "# 请与数据库分开备份；丢失密钥即丢失当事人个人信息。",
             "# Back it up apart from the database: losing data_key loses the parties' personal"
             " data.", ""]
    for key in SECRET_KEYS:
        value = values.get(key)
        if value is not None:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")  # a TOML string
    return "\n".join(lines) + "\n"


def write_secrets(path: Path, values: dict[str, str | None]) -> None:
    """Create the secrets file, readable and writable by its owner only, from the first byte;
    FileExistsError if it exists (secrets are never overwritten)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets_text(values))


def replace_secrets(path: Path, values: dict[str, str | None]) -> None:
    """Rewrite an existing secrets file atomically (a reader sees the old file or the new one),
    0600 from the first byte: `fengqiao node keys` adds or rotates the message keys."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets_text(values))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
