"""Versioned reference data shared by every tier: dispute types (DOMAIN §3.3) and fixed vocabularies.

A new vintage adds a new table; old messages keep naming the version they were written with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

DISPUTE_TYPES_VERSION = "2026.1"


@dataclass(frozen=True)
class DisputeType:
    code: str
    zh: str
    en: str


_TYPES = (
    DisputeType("01", "婚姻家庭", "marriage & family"),
    DisputeType("02", "邻里", "neighbours"),
    DisputeType("03", "房屋宅基地", "housing & homestead"),
    DisputeType("04", "合同", "contract"),
    DisputeType("05", "生产经营", "business"),
    DisputeType("06", "损害赔偿", "damages"),
    DisputeType("07", "山林土地", "forest & land"),
    DisputeType("08", "征地拆迁", "land requisition & demolition"),
    DisputeType("09", "环境污染", "pollution"),
    DisputeType("10", "劳动争议", "labour (incl. wage arrears)"),
    DisputeType("11", "旅游", "tourism"),
    DisputeType("12", "消费", "consumer"),
    DisputeType("13", "医疗", "medical"),
    DisputeType("14", "道路交通事故", "road accidents"),
    DisputeType("15", "物业管理", "property management"),
    DisputeType("16", "知识产权", "intellectual property"),
    DisputeType("17", "互联网", "internet"),
    DisputeType("99", "其他", "other"),
)

DISPUTE_TYPES: Mapping[str, Mapping[str, DisputeType]] = {
    DISPUTE_TYPES_VERSION: {t.code: t for t in _TYPES},
}


def dispute_type(code: str, version: str = DISPUTE_TYPES_VERSION) -> DisputeType:
    """Look up a dispute type; a KeyError names the unknown code and the table version."""
    table = DISPUTE_TYPES.get(version)
    if table is None:
        raise KeyError(f"unknown dispute-type table version {version!r}")
    if code not in table:
        raise KeyError(f"unknown dispute type {code!r} (table {version}); "
                       f"valid: {', '.join(table)}")
    return table[code]


class CaseSource(StrEnum):
    """How a case reached the committee (人民调解法: application, own initiative, report, referral)."""

    APPLICATION = "application"
    OWN_INITIATIVE = "own_initiative"
    GRID_REPORT = "grid_report"
    REFERRAL = "referral"
    ESCALATION = "escalation"  # arrived from a lower tier


class ReferralTarget(StrEnum):
    """Routes outside people's mediation (REFERRED_OUT)."""

    POLICE = "police"
    COURT = "court"
    ARBITRATION = "arbitration"
    ORGAN = "organ"
    PETITION = "petition"


class EscalationReason(StrEnum):
    """Escalation triggers of DOMAIN §3.2 (which apply is configurable policy)."""

    NO_AGREEMENT = "no_agreement"
    TARGET_EXPIRED = "target_expired"
    CROSS_AREA = "cross_area"
    GROUP_CASE = "group_case"
    CADRE_INVOLVED = "cadre_involved"
    SPECIAL_TYPE = "special_type"
    RED_FLAG = "red_flag"
    DEPARTMENT_INVOLVED = "department_involved"
    COURT_LINKAGE = "court_linkage"
    AMOUNT_ABOVE_THRESHOLD = "amount_above_threshold"
    MAJOR_MATTER = "major_matter"


LABELS_ZH: Mapping[str, str] = {
    "application": "当事人申请", "own_initiative": "主动调解", "grid_report": "网格员上报",
    "referral": "法院/公安委托移交", "escalation": "下级上报",
    "police": "公安机关", "court": "人民法院", "arbitration": "仲裁机构", "organ": "行政机关",
    "petition": "信访渠道",
    "no_agreement": "未达成协议，当事人同意继续", "target_expired": "调解期限届满",
    "cross_area": "当事人跨区域", "group_case": "群体性纠纷（5人以上）",
    "cadre_involved": "村干部或调委会为一方当事人", "special_type": "征地、欠薪、医疗等特殊类型",
    "red_flag": "有激化风险", "department_involved": "涉及乡镇部门", "court_linkage": "需诉调对接",
    "amount_above_threshold": "标的额超过限额", "major_matter": "重大或群体性事项",
}
