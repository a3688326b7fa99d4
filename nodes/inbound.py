"""What every node does with decisions from the tier above (supervision orders:
`nodes.supervision`).

Each handler runs inside the consumer's transaction, so the case change, the outbox rows it causes
(the decision passed on toward the origin village, the lifecycle report) and the inbox row of the
message commit together.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from nodes.domain import above, commands
from nodes.messaging.consumer import Handler
from nodes.service import CaseService
from protocol.envelope import Envelope
from protocol.messages import CaseDecision


def on_case_decision(service: CaseService, env: Envelope) -> None:
    decision, case_id = env.payload_as(CaseDecision), env.case
    data: dict[str, Any] = decision.model_dump(mode="json")
    returned_to_us = decision.decision == "returned" and decision.deciding_node == env.sender
    if returned_to_us and decision.report_back_by is not None:
        due = decision.report_back_by
        service.act(case_id, lambda case, actor, at: commands.receive_return(
            case, actor, at, decision=data, report_back_by=due), role="system")
    else:
        service.act(case_id, partial(above.receive_decision, decision=data,
                                     rules=service.rules), role="system")


def node_handlers(service: CaseService) -> dict[str, Handler]:
    """What every node accepts from its parent besides supervision orders: decisions."""
    return {"case_decision": partial(on_case_decision, service)}
