"""The case page's steps for the mediation paths and the file's upkeep (issue 17): a correction,
consent or refusal per party, the parties' choice of mediator and session, an extension,
judicial confirmation, a breach and an interim report up. Each runs what the command line's
`case ACTION` runs (`nodes.cli.case_transitions`, `path_cmds`, `case_fix`), so the law's guards
and their sentences are the same.
"""

from __future__ import annotations

from datetime import date, datetime

from nodes.domain import above, paths
from nodes.domain import commands as cmd
from nodes.domain.case import Actor, Case
from nodes.domain.consent import MEDIATION, SCOPES
from nodes.domain.corrections import PARTY_FIELDS, PartyChange
from nodes.domain.states import Action
from nodes.i18n import N_
from nodes.service import CaseService, Command
from nodes.web.step_kit import Field, FieldProblem, Step, Values, check, days, party_of
from protocol.messages import MAX_SHORT

NOTE = Field("note", N_("Note"), "textarea")
CLEARABLE = ("id_number", "phone", "address")  # a party's name is corrected, never cleared


def _consent(v: Values, s: CaseService, today: date) -> Command:
    scope = v.get("scope") or MEDIATION
    if scope not in SCOPES:
        raise FieldProblem("scope", N_("choose what the consent is to"))
    party = party_of(v)

    def command(case: Case, actor: Actor, at: datetime) -> None:
        count = len(s.store.parties(case.case_id)) if party is not None else None
        paths.record_consent(case, actor, at, scope=scope,
                             given=v.get("answer") != "refuse", party=party, parties=count,
                             note=v.get("note", ""),
                             remedies_notified=check(v, "remedies_notified"))
    return command


def _choose(v: Values, s: CaseService, today: date) -> Command:
    session = v.get("session") or None
    if session is not None and session not in paths.SESSIONS:
        raise FieldProblem("session", N_("a session is public or private"))
    return lambda case, actor, at: paths.choose(case, actor, at, mediator=v.get("mediator", ""),
                                                session=session, note=v.get("note", ""))


def _extend(v: Values, s: CaseService, today: date) -> Command:
    extra = days(v, "days")
    return lambda case, actor, at: cmd.extend(case, actor, at, s.rules, days=extra,
                                              both_parties_consent=check(v, "both_consent"))


def _jc_result(v: Values, s: CaseService, today: date) -> Command:
    confirmed = v.get("result") == "confirmed"
    return lambda case, actor, at: cmd.jc_result(case, actor, at, confirmed=confirmed)


def _correct(v: Values, s: CaseService, case_id: str, role: str, user: str | None) -> Case:
    """An empty field is left as it was; a ticked "clear" box removes a wrong ID number, phone
    or address (the domain's empty value, as the command line's `--phone ""`), never the name."""
    given = {f: v.get(f) or None for f in PARTY_FIELDS}
    for name, value in given.items():
        if value is not None and len(value) > MAX_SHORT:
            raise FieldProblem(name, N_("At most {limit} characters."), limit=MAX_SHORT)
    for name in CLEARABLE:
        if check(v, f"clear_{name}"):
            if given[name] is not None:
                raise FieldProblem(name, N_("give a corrected value or clear it, not both"))
            given[name] = ""
    party = party_of(v)
    if party is None and any(value is not None for value in given.values()):
        raise FieldProblem("party", N_("choose the party whose details are corrected"))
    if given["id_number"]:
        given["id_number"] = given["id_number"].upper()
    change = None if party is None else PartyChange(party, **given)
    return s.correct(case_id, reason=v.get("reason", ""), facts=v.get("facts") or None,
                     party=change, role=role, user=user)


def _reports_to_someone(case: Case) -> bool:
    return above.report_back_to(case) is not None


PATH_STEPS: tuple[Step, ...] = (
    Step(Action.CONSENT, (
        Field("party", N_("Party"), "party"),
        Field("answer", N_("Answer"), "select", True,
              (("consent", N_("consents")), ("refuse", N_("refuses"))), default="consent"),
        Field("scope", N_("Consent or refusal of"), "select", True, tuple((c, "") for c in SCOPES),
              default=MEDIATION, labels="word"),
        Field("remedies_notified", N_(
            "A refusal: the parties were told their other routes"), "check"),
        NOTE), _consent),
    Step(Action.CHOICE, (
        Field("mediator", N_("Mediator the parties chose")),
        Field("session", N_("Session"), "select", False,
              tuple((c, "") for c in paths.SESSIONS), labels="word"), NOTE), _choose),
    Step(Action.EXTEND, (
        Field("days", N_("Extra days"), "days", True),
        Field("both_consent", N_("Both parties consent"), "check")), _extend),
    Step(Action.JC_APPLY, (), lambda v, s, d: lambda c, a, at: cmd.apply_jc(c, a, at)),
    Step(Action.JC_RESULT, (Field("result", N_("The court's ruling"), "select", True, (
        ("confirmed", N_("confirmed by the court")),
        ("refused", N_("not confirmed by the court")))),), _jc_result),
    Step(Action.BREACH, (Field("reason", N_("What was not done"), "textarea", True),),
         lambda v, s, d: lambda c, a, at: cmd.breach(c, a, at, v.get("reason", ""))),
    Step(Action.REPORT_UP, (Field("text", N_("What has been done so far"), "textarea", True),),
         lambda v, s, d: lambda c, a, at: above.report_up(c, a, at, text=v.get("text", "")),
         when=_reports_to_someone),
    Step(Action.CORRECT, (
        Field("facts", N_("Corrected facts (empty: unchanged)"), "textarea"),
        Field("party", N_("Party whose details are corrected"), "party"),
        Field("name", N_("Corrected name (empty: unchanged)"), "personal"),
        Field("id_number", N_("Corrected ID number (empty: unchanged)"), "personal"),
        Field("clear_id_number", N_("Clear the recorded ID number"), "check"),
        Field("phone", N_("Corrected phone (empty: unchanged)"), "personal"),
        Field("clear_phone", N_("Clear the recorded phone"), "check"),
        Field("address", N_("Corrected address (empty: unchanged)"), "personal"),
        Field("clear_address", N_("Clear the recorded address"), "check"),
        Field("reason", N_("Why it is corrected"), "textarea", True)), run=_correct),
)
