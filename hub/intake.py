"""A hub accepts its children's escalations, through the application service.

ESCALATED at tier N is REGISTERED at tier N+1 (DOMAIN §3.1): `CaseService.receive_escalation`
registers the case at this tier with the dossier, inside the consumer's transaction. The tier a
case was handed down to reports back (反馈) the same way.
"""

from __future__ import annotations

from functools import partial

from nodes.domain.above import receive_report_back
from nodes.service import CaseService
from protocol.envelope import Envelope
from protocol.messages import CaseEscalated, CaseReportBack


def on_case_escalated(service: CaseService, env: Envelope) -> None:
    service.receive_escalation(env.sender, env.sent_at, env.payload_as(CaseEscalated), env.case)


def on_case_report_back(service: CaseService, env: Envelope) -> None:
    """反馈 from the tier this hub handed the case down to (`nodes.domain.above`)."""
    report = env.payload_as(CaseReportBack).model_dump(mode="json", exclude={"sealed"})
    service.act(env.case, partial(receive_report_back, report=report), role="system")
