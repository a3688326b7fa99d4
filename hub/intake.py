"""A hub accepts its children's escalations, through the application service.

ESCALATED at tier N is REGISTERED at tier N+1 (DOMAIN §3.1): `CaseService.receive_escalation`
registers the case at this tier with the dossier, inside the consumer's transaction.
"""

from __future__ import annotations

from nodes.service import CaseService
from protocol.envelope import Envelope
from protocol.messages import CaseEscalated


def on_case_escalated(service: CaseService, env: Envelope) -> None:
    service.receive_escalation(env.sender, env.sent_at, env.payload_as(CaseEscalated), env.case)
