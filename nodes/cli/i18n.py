"""The CLI's message catalog: `t(key, lang, **kw)`, one sentence in Chinese (default) or English.

Labels for states, actions and reference data live in `nodes.cli.labels`; this file holds the
sentences the command line itself prints.
"""

from __future__ import annotations

import os

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

_MESSAGES: dict[str, tuple[str, str]] = {
    # --- errors ---------------------------------------------------------------------------
    "error_prefix": ("错误：", "error: "),
    "internal": ("内部错误（{kind}）；设置环境变量 FENGQIAO_DEBUG=1 后重试，可在日志中查看详情",
                 "internal error ({kind}); run again with FENGQIAO_DEBUG=1 to see the details "
                 "in the log"),
    "interrupted": ("已中断", "interrupted"),
    "usage_hint": ("（用 {prog} --help 查看用法）", " (see {prog} --help)"),
    "env_lang_bad": ("环境变量 FENGQIAO_LANG 的值「{value}」无效，应为 zh 或 en",
                     "environment variable FENGQIAO_LANG is {value!r}; use zh or en"),
    "env_now_bad": ("环境变量 FENGQIAO_NOW 的值「{value}」不是有效的时间"
                    "（例：2026-01-05T10:00:00+08:00）",
                    "environment variable FENGQIAO_NOW is {value!r}, not a valid time "
                    "(e.g. 2026-01-05T10:00:00+08:00)"),
    "config_missing": ("找不到配置文件 {path}；请先运行 fengqiao node init，"
                       "或用 --config 指定配置文件",
                       "config file {path} not found; run fengqiao node init first or give "
                       "--config FILE"),
    "config_bad": ("配置文件有误：{detail}", "{detail}"),
    "node_run_hub": ("这是{tier}级上级中心的配置，请用 fengqiao hub run",
                     "this is a {tier} hub's config; use fengqiao hub run"),
    "hub_run_village": ("这是村站的配置，请用 fengqiao node run",
                        "this is a village station's config; use fengqiao node run"),
    "flow_tier": ("流转统计只在县级和市级中心提供（本节点为 {tier}）",
                  "the flow table is kept by county and city hubs (this node is a {tier})"),
    "demo_cases": ("每村纠纷数应为 1 至 1000", "disputes per village must be 1 to 1000"),
    "config_tier": ("配置文件 {path} 的字段 tier 有误：{tier} 与 node_id {code} 不符"
                    "（该代码是{derived}级节点）",
                    "config file {path}: field 'tier' is {tier}, which does not match node_id "
                    "{code} (a {derived} code)"),
    "calendar_bad": ("节假日日历有误：{detail}", "{detail}"),
    "db_open": ("无法打开数据库 {path}：{detail}", "cannot open the database {path}: {detail}"),
    "write_failed": ("无法写入 {path}：{detail}", "cannot write {path}: {detail}"),
    "area_bad": ("区划代码「{code}」无效：{detail}", "invalid area code {code!r}: {detail}"),
    "tier_mismatch": ("层级 {tier} 与区划代码 {code} 不符（该代码是{derived}级节点）",
                      "tier {tier} does not match area code {code} (a {derived} code)"),
    "config_exists": ("{path} 已存在，不会覆盖；如需重新初始化，请先移走该文件",
                      "{path} already exists and will not be overwritten; move it away first "
                      "to initialise again"),
    "parent_city": ("市级节点没有上级，不能指定 --parent",
                    "a city node has no parent; drop --parent"),
    "parent_bad": ("上级节点 {parent} 的层级必须高于本节点",
                   "parent {parent} must be on a higher tier than this node"),
    "salt_short": ("party_hash_salt 至少需要8个字符",
                   "party_hash_salt needs at least 8 characters"),
    "party_bad": ("当事人参数「{value}」格式不正确，应为 角色:姓名[:身份证号[:电话[:地址]]]，"
                  "角色为 applicant（申请人）、respondent（被申请人）或 other（其他）",
                  "party {value!r} is not role:name[:id_number[:phone[:address]]] with role "
                  "applicant, respondent or other"),
    "no_party": ("至少登记一名当事人（用 --applicant、--respondent 或 --party）",
                 "at least one party is required (--applicant, --respondent or --party)"),
    "perform_bad": ("履行事项「{value}」格式不正确，应为 内容:YYYY-MM-DD",
                    "performance item {value!r} is not what:YYYY-MM-DD"),
    "date_bad": ("「{value}」不是有效日期，应为 YYYY-MM-DD",
                 "{value!r} is not a date (YYYY-MM-DD)"),
    "int_bad": ("「{value}」不是正整数", "{value!r} is not a positive whole number"),
    "arg_not_text": ("参数 {value} 含有无法识别的字符（不是 UTF-8 文本，或含空字符）",
                     "argument {value} is not valid text (not UTF-8, or it contains a NUL)"),
    "arg_too_long": ("{option} 超过 {limit} 字的上限（共 {length} 字）",
                     "{option} is longer than the limit of {limit} characters ({length})"),
    "party_too_long": ("当事人参数「{value}」中有一项超过 {limit} 字",
                       "party {value!r} has a part longer than {limit} characters"),
    "people_bad": ("涉及人数「{value}」应为 1 至 {limit} 的整数",
                   "people involved {value!r} must be a whole number from 1 to {limit}"),
    "too_many_parties": ("一个案件最多登记 {limit} 名当事人", "a case has at most {limit} parties"),
    "type_bad": ("纠纷类型「{value}」无效；可选：{choices}",
                 "unknown dispute type {value!r}; valid: {choices}"),
    "state_bad": ("状态「{value}」无效；可选：{choices}",
                  "unknown state {value!r}; valid: {choices}"),
    "grid_bad": ("网格编号「{value}」应为15位数字（12位村代码加3位序号）",
                 "grid id {value!r} must be 15 digits (12-digit village code + 3-digit number)"),
    # --- node init ------------------------------------------------------------------------
    "init_done": ("已创建{tier}节点 {node_id}{name}", "created {tier} node {node_id}{name}"),
    "init_parent": ("  上级节点：{parent}", "  parent node: {parent}"),
    "init_config": ("  配置文件：{path}", "  config file: {path}"),
    "init_db": ("  数据库：{path}", "  database: {path}"),
    "init_db_kept": ("  数据库：{path}（已存在，已保留）", "  database: {path} (existed, kept)"),
    "init_holidays": ("  节假日日历目录：{path}（每年放入一个节假日文件，格式见其中 README.md）",
                      "  holiday calendar folder: {path} (add one file per year; format in its "
                      "README.md)"),
    "init_salt": ("提示：同一网络的所有节点应使用相同的 party_hash_salt"
                  "（已随机生成，可在配置文件中修改），"
                  "才能发现跨村的重复当事人。",
                  "note: all nodes of one network should share party_hash_salt (generated at "
                  "random; edit it in the config file) so repeat parties are found across "
                  "villages."),
    "init_next": ("下一步：在 {dir} 目录下运行 fengqiao case new …，或设置 FENGQIAO_CONFIG={path}",
                  "next: run fengqiao case new … in {dir}, or set FENGQIAO_CONFIG={path}"),
    "schema_written": ("已写入 {n} 个 JSON Schema 文件：", "wrote {n} JSON Schema files:"),
    # --- cases ----------------------------------------------------------------------------
    "case_created": ("已新建案件 {case_id}，状态：{state}",
                     "created case {case_id}, state: {state}"),
    "case_state": ("案件 {case_id} 当前状态：{state}", "case {case_id} is now: {state}"),
    "no_cases": ("没有符合条件的案件", "no matching cases"),
    "overdue_mark": ("超期", "OVERDUE"),
    "col_case": ("案件编号", "case id"),
    "col_state": ("状态", "state"),
    "col_type": ("纠纷类型", "dispute type"),
    "col_opened": ("立案日期", "opened"),
    "col_due": ("期限届满", "target due"),
    "col_overdue": ("超期", "overdue"),
    "col_seq": ("序号", "seq"),
    "col_time": ("时间", "time"),
    "col_action": ("事项", "action"),
    "col_after": ("之后状态", "state after"),
    "col_actor": ("操作人", "actor"),
    "col_reason": ("说明", "reason / details"),
    "show_head": ("案件 {case_id}    状态：{state}", "case {case_id}    state: {state}"),
    "show_line1": ("层级：{tier}    来源：{source}    纠纷类型：{type}    涉及人数：{people}",
                   "tier: {tier}    source: {source}    dispute type: {type}    "
                   "people involved: {people}"),
    "show_opened": ("立案时间：{at}    网格：{grid}", "opened: {at}    grid: {grid}"),
    "show_facts": ("纠纷事实：{facts}", "facts: {facts}"),
    "show_parties": ("当事人：", "parties:"),
    "show_target": ("调解期限：{amount}个{unit}，自 {start} 起算（当日不计），"
                    "届满日 {due}{ext}{overdue}",
                    "target duration: {amount} {unit} from {start} (start day not counted), "
                    "due {due}{ext}{overdue}"),
    "show_ext": ("（已延长{days}天）", " (extended by {days} days)"),
    "show_overdue": ("【已超期】", " [OVERDUE]"),
    "show_calendar": ("  日历说明：{note}", "  calendar: {note}"),
    "show_no_target": ("调解期限：尚未起算（受理后开始计算）",
                       "target duration: not started (starts on acceptance)"),
    "show_agreement": ("调解协议：{form}，生效日期 {date}；内容：{terms}",
                       "agreement: {form}, effective {date}; terms: {terms}"),
    "show_perform": ("  履行：{what}（{due} 前）", "  perform: {what} (by {due})"),
    "show_jc": ("司法确认：可在 {due} 前由双方共同向法院申请；当前：{status}",
                "judicial confirmation: joint application to the court by {due}; now: {status}"),
    "show_red_flag": ("风险报警：已记录，已报告公安机关",
                      "red flag: recorded, reported to the police"),
    "show_events": ("办理经过：", "history:"),
    "none": ("无", "none"),
    # --- personal data and audit (issue 4) -------------------------------------------------
    "init_data_key": ("重要：{path} 中的 data_key 用于加密当事人个人信息，请妥善保管并另行备份；"
                      "丢失密钥即永久丢失当事人姓名、身份证号和电话。",
                      "important: data_key in {path} encrypts the parties' personal data; keep it "
                      "safe and back it up separately - losing it loses the names, ID numbers and "
                      "phones for good."),
    "new_key_note": ("把上面一行写入节点配置文件（每个节点一个密钥）；请另行备份，丢失密钥即丢失"
                     "个人信息。已有加密数据的节点不能换用新密钥。",
                     "put the line above into the node's config file (one key per node); back it "
                     "up separately - losing it loses the personal data. A node whose data is "
                     "already encrypted cannot switch to a new key."),
    "audit_no_chain": ("数据库 {path} 尚无哈希链；用本版本打开一次（任一 fengqiao 命令）即可建立",
                       "the database {path} has no hash chain yet; open it once with this "
                       "version (any fengqiao command) to create it"),
    "audit_intact": ("事件日志哈希链完整：共 {rows} 条记录，链头 {head}",
                     "event log hash chain intact: {rows} rows, head {head}"),
    "audit_broken": ("事件日志哈希链断裂，第一处断点：{where}：{what}",
                     "event log hash chain broken, first broken link: {where}: {what}"),
    "audit_where": ("案件 {case_id} 第 {seq} 号事件（行 {row}）",
                    "case {case_id}, seq {seq} (row {row})"),
    "audit_hash_missing": ("该行没有哈希值", "the row has no hash"),
    "audit_link": ("prev_hash 与前一行的哈希不符（前面有记录被删除、插入或改动），"
                   "应为 {expected}，实为 {found}",
                   "prev_hash is not the previous row's hash (a row before it was deleted, "
                   "inserted or changed): expected {expected}, found {found}"),
    "audit_content": ("该行内容已被改动：记录的哈希为 {expected}，按现内容计算为 {found}",
                      "the row's content was changed: its stored hash is {expected}, its "
                      "content now hashes to {found}"),
    "audit_fields": ("；与当时发出的上报不符的字段：{fields}",
                     "; fields that differ from the report sent at the time: {fields}"),
    "audit_head": ("链头记录为 {expected}，实际为 {found}（末尾的记录被删除，或链头被改动）",
                   "the chain head records {expected} but the log has {found} (rows removed from "
                   "the end, or the head altered)"),
    "audit_seq_gap": ("案件事件编号不连续：应有 {expected}，实有 {found}",
                      "the case's events are not numbered without gaps: expected {expected}, "
                      "found {found}"),
    "audit_projection": ("案件表与事件日志不符：应为 {expected}，实为 {found}",
                         "the cases table disagrees with the event log: expected {expected}, "
                         "found {found}"),
}


def t(key: str, lang: str, **kw: object) -> str:
    """The message `key` in `lang` ("zh" or "en"), formatted with `kw`."""
    zh, en = _MESSAGES[key]
    return (en if lang == "en" else zh).format(**kw)


def env_lang() -> str | None:
    """FENGQIAO_LANG if set (validated by the caller), else None."""
    value = os.environ.get("FENGQIAO_LANG", "").strip()
    return value or None
