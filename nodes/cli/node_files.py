"""The files `fengqiao node init` writes: the node's TOML config and the holiday folder's README.

The TOML is written by hand (no extra dependency); every string goes through `toml_str`, which
escapes it as a TOML basic string.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.areas import Tier


def toml_str(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class InitSettings:
    node_id: str
    tier: Tier
    name: str
    parent: str | None  # configured parent; None = derived from the code
    derived_parent: str | None
    broker_url: str  # without a password (that goes to the secrets file)
    target_days: int = 30
    database: str = "fengqiao.db"
    calendar_dir: str = "holidays"


def config_text(s: InitSettings) -> str:
    if s.parent is not None:
        parent_line = f"parent = {toml_str(s.parent)}"
    elif s.derived_parent is not None:
        derived = toml_str(s.derived_parent)
        parent_line = f"# parent = {derived}   # 默认由代码推导 / derived default"
    else:
        parent_line = "# 市级节点没有上级 / a city node has no parent"
    return f"""\
# fengqiao 节点配置 / node configuration (written by `fengqiao node init`)
# 相对路径相对于本文件所在目录 / relative paths are relative to this file's folder.

node_id = {toml_str(s.node_id)}   # 12位统计用区划代码 / 12-digit area code
tier = {toml_str(s.tier.value)}   # village | township | county | city (must match the code)
name = {toml_str(s.name)}
# 上级节点 / parent node: set it only where the tree differs from the code (e.g. 东莞, 中山).
{parent_line}

database = {toml_str(s.database)}
broker_url = {toml_str(s.broker_url)}   # memory:// = no broker; amqp://NODE_ID@host/vhost
calendar_dir = {toml_str(s.calendar_dir)}   # 每年一个节假日文件 / one holiday file per year

# 每级调解期限（天），经双方同意可延长一次 / target duration per tier (days), one extension
target_days = {s.target_days}
max_extension_days = 30

# 只接受由消息服务器校验过、且与发送节点编号一致的用户发出的消息（每个节点一个 RabbitMQ 用户）。
# Accept only messages whose broker-validated user id is the sending node's id (one user per node).
require_user_id = true

# 全网各节点的公钥（验证签名、密封个人信息用），由 fengqiao deploy keys 汇总后分发到每个节点。
# The network's public keys (signatures are checked and personal data sealed with them), gathered
# by `fengqiao deploy keys` and given to every node. This node's own are in public-keys.json.
keys_file = "keys.json"

# 密钥（个人信息加密密钥、身份哈希密钥、消息服务器密码、签名和密封私钥）不在本文件中，而在同目录的
# secrets.toml（权限 0600）或 systemd 凭据中。/ The secrets (data key, identity key, broker password,
# signing and sealing keys) are not in this file: they are in secrets.toml beside it (mode 0600),
# or in systemd's credentials.
"""


HOLIDAYS_README = """\
# 节假日日历 / Holiday calendars

本目录放运营方自己的节假日安排，每年一个 TOML 文件（如 `2027.toml`），按国务院办公厅每年的通知填写，
用 `fengqiao calendar install 文件` 装入（装入后未结期限自动重新计算）。程序已自带经核对的正式安排
（2026年：国办发明电〔2025〕7号）；本目录中的文件按年份覆盖它。没有当年安排的年份按周末和
《全国年节及纪念日放假办法》的法定节假日计算，期限标为“暂定”。格式见程序包中的
`nodes/data/holidays/README.md` 和 `2026.toml`。

The operator's own holiday arrangements, one TOML file per year (e.g. `2027.toml`), filled in from
the State Council's annual notice and installed with `fengqiao calendar install FILE` (open
deadlines are recomputed). The package ships the checked official arrangements (2026: 国办发明电
〔2025〕7号); a file here overrides its year. A year with no arrangement counts weekends and the
statutory holidays of 全国年节及纪念日放假办法, and its deadlines are marked provisional. Format:
`nodes/data/holidays/README.md` and `2026.toml` in the package.

```toml
year = 2027
source = "国办发明电〔20xx〕x号"   # where the dates come from
sample = false                     # true = illustrative only
holidays = ["2027-01-01"]          # days off (incl. weekends in a break, weekdays made free)
makeup_workdays = []               # Saturdays/Sundays that are working days (调休)
```
"""
