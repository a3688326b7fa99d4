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

本目录每年放一个 TOML 文件（如 `2026.toml`），由运营方根据国务院办公厅每年的节假日安排通知填写。
系统不会猜测节假日；没有日历的年份只把周六、周日当作非工作日，期限说明中会注明。
格式详见程序包中的 `nodes/data/holidays/README.md`（另有示例 `sample-2026.toml`，非官方）。

One TOML file per year (e.g. `2026.toml`), filled in from the State Council's annual notice.
Nothing is guessed; a year without a file counts only weekends as days off and every deadline
note says so. Full format: `nodes/data/holidays/README.md` in the package (sample, not official:
`sample-2026.toml`).

```toml
year = 2026
source = "国办发明电〔2025〕x号"   # where the dates come from
sample = false                     # true = illustrative only
holidays = ["2026-01-01"]          # days off (incl. weekdays made free)
makeup_workdays = ["2026-01-04"]   # Saturdays/Sundays that are working days (调休)
```
"""
