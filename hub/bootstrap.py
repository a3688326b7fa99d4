"""Composition root for hubs: a node, plus the hub's tables and what only hubs handle."""

from __future__ import annotations

from functools import partial

from hub.flow import on_heartbeat, on_lifecycle_report
from hub.intake import on_case_escalated
from hub.schema import hub_migrations
from nodes.bootstrap import Node, bootstrap
from nodes.config import NodeConfig
from nodes.inbound import node_handlers
from nodes.messaging.consumer import Handler
from nodes.service import CaseService
from protocol.areas import Tier


def hub_node(config: NodeConfig) -> Node:
    node = bootstrap(config)
    node.store.migrate(hub_migrations)
    return node


def handlers_for(service: CaseService) -> dict[str, Handler]:
    """Every node takes decisions and orders; hubs take escalations; county and city, reports."""
    handlers = node_handlers(service)
    if service.tier is not Tier.VILLAGE:
        handlers["case_escalated"] = partial(on_case_escalated, service)
    if service.tier in (Tier.COUNTY, Tier.CITY):
        handlers["lifecycle_report"] = on_lifecycle_report
        handlers["heartbeat"] = on_heartbeat
    return handlers


def node_for(config: NodeConfig) -> Node:
    return hub_node(config) if config.tier is not Tier.VILLAGE else bootstrap(config)
