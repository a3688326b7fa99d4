"""The notices' texts: Chinese first, from the one catalogue, each replaceable in `[notices]`.

A template names the parameters it may use; a notice's row keeps codes and dates only (a case
number, the node's name, an outcome code, a date), and they are put in words here, in the node's
language, when the notice is sent. No template uses a party's name, phone or address: the
phone is the address the gateway sends to, nothing more.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from nodes.i18n import N_, NP_, pt, t
from nodes.labels import ref_label
from protocol.text import Translatable, fill

GATEWAY_PREFIX = "fengqiao."  # the gateway's template id, unless `gateway_template` names one


@dataclass(frozen=True)
class Template:
    text: str  # the catalogue's message id (English), `{name}` placeholders
    params: frozenset[str]


def _template(text: str, *params: str) -> Template:
    return Template(text, frozenset(params))


TEMPLATES: Mapping[str, Template] = {
    "accepted": _template(N_("Your dispute (case {case}) was accepted by {node} on {date}."),
                          "case", "node", "date"),
    "handed_down": _template(N_(
        "Your dispute (case {case}) was handed by {node} on {date} to the mediation organisation "
        "below it, which is to report back by {report_by}."), "case", "node", "date",
        "report_by"),
    "referred_out": _template(N_(
        "Your dispute (case {case}) was referred by {node} on {date} to {to}."),
        "case", "node", "date", "to"),
    "concluded": _template(N_(
        "Your dispute (case {case}) was concluded by {node} on {date}: {outcome}."),
        "case", "node", "date", "outcome"),
    "follow_up": _template(N_(
        "{node} will visit you about case {case} by {due} to see how the agreement is "
        "carried out."), "case", "node", "due"),
    "arrival": _template(N_("Case {case} arrived from {from} on {date}: decide on accepting it."),
                         "case", "from", "date"),
    "returned": _template(N_(
        "Case {case} was handed down to this node by {from} on {date}: report back by "
        "{report_by}."), "case", "from", "date", "report_by"),
    "order": _template(N_(
        "Supervision order {order} on case {case} ({level}): answer by {due}."),
        "order", "case", "level", "due"),
    "due_soon": _template(N_("Case {case}: the {clock} clock falls due on {due}."),
                          "case", "clock", "due"),
}
OUTCOMES: Mapping[str, str] = {
    "agreed": NP_("outcome", "a mediation agreement was reached"),
    "closed": NP_("outcome", "the case is closed"),
    "closed_unresolved": NP_("outcome", "closed without an agreement"),
    "terminated": NP_("outcome", "the mediation ended; you may still apply for arbitration or "
                                 "an administrative ruling, or go to court"),
    "rejected": NP_("outcome", "not accepted for mediation"),
}
LEVELS: Mapping[str, str] = {"supervise": NP_("order level", "supervision"),
                             "listed_supervision": NP_("order level", "listed supervision")}
CLOCKS: Mapping[str, str] = {
    "acceptance": NP_("clock", "acceptance"), "mediation": NP_("clock", "mediation"),
    "report_back": NP_("clock", "report-back"), "performance": NP_("clock", "performance"),
    "follow_up": NP_("clock", "follow-up visit")}
DATES = frozenset({"date", "due", "report_by"})


class TemplateError(Translatable, ValueError):
    """A template text in `[notices]` cannot be used (reported for its field)."""


def placeholders(text: str) -> set[str]:
    """The `{names}` a text uses; TemplateError if it is not a valid template."""
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text)
                if name is not None}
    except ValueError:
        raise TemplateError("notice_template_braces", N_(
            "the text's braces do not match: write {{ and }} for a brace itself")) from None


def check_text(template_id: str, text: str) -> str:
    """An operator's text for `template_id`: only the template's placeholders, each by name."""
    if template_id not in TEMPLATES:
        raise TemplateError("notice_template_unknown", N_(
            "there is no notice template {name} (the templates: {known})"),
            name=template_id, known=", ".join(TEMPLATES))
    used = placeholders(text)
    allowed = TEMPLATES[template_id].params
    unknown = sorted(used - allowed)
    if unknown or "" in used:
        raise TemplateError("notice_template_param", N_(
            "the text uses {name}, which this notice does not have (it has: {known})"),
            name="{" + (unknown[0] if unknown else "") + "}",
            known=", ".join("{" + p + "}" for p in sorted(allowed)))
    if not text.strip():
        raise TemplateError("notice_template_empty", N_("the text is empty"))
    return text


def shown_date(value: str, lang: str) -> str:
    """A date as people read it: 2026年3月2日 in Chinese, 2026-03-02 in English."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.isoformat()


def shown(params: Mapping[str, str], lang: str) -> dict[str, str]:
    """The parameters in words: outcomes, levels, clocks, referral targets and dates."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if key == "outcome" and value in OUTCOMES:
            out[key] = pt("outcome", OUTCOMES[value], lang)
        elif key == "level" and value in LEVELS:
            out[key] = pt("order level", LEVELS[value], lang)
        elif key == "clock" and value in CLOCKS:
            out[key] = pt("clock", CLOCKS[value], lang)
        elif key == "to":
            out[key] = ref_label(value, lang)
        elif key == "node" and not value:
            out[key] = pt("notice", "the mediation organisation", lang)
        elif key in DATES:
            out[key] = shown_date(value, lang)
        else:
            out[key] = value
    return out


def render(template_id: str, params: Mapping[str, str], lang: str,
           texts: Mapping[str, str] | None = None) -> str:
    """The notice's text in `lang`: the operator's text for it if `texts` has one, else the
    catalogue's. A parameter the template lacks is left out (never an error at send time)."""
    template = TEMPLATES[template_id]
    values = shown({k: v for k, v in params.items() if k in template.params}, lang)
    values.update({name: "" for name in template.params if name not in values})
    own = (texts or {}).get(template_id)
    return fill(own, values) if own else t(template.text, lang, **values)


def gateway_template(template_id: str, ids: Mapping[str, str] | None = None) -> str:
    """The gateway's id of the template: the operator's (`gateway_template`), else ours."""
    return (ids or {}).get(template_id) or GATEWAY_PREFIX + template_id
