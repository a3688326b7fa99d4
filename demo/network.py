"""The demo's sample city: 1 city, 2 counties, 4 townships, 12 villages.

SAMPLE DATA (示例数据): the codes follow the real 12-digit pattern of 绍兴市 and its county-level
cities so routing looks as it would in production, but the township and village codes, all names,
and every party (names, ID numbers, phones) are invented for the demo.
"""

from __future__ import annotations

import random
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from nodes.config import without_password
from nodes.crypto import new_identity_key, new_key
from nodes.domain import commands
from nodes.domain.identity_numbers import check_char
from nodes.domain.states import CaseState
from nodes.node import Node
from nodes.secrets import SECRETS_NAME, write_secrets
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.keydir import KEYS_FILE_NAME, KeyDirectory, PublicKeys, save_directory
from protocol.keys import load_sealing_key, load_signing_key, new_sealing_key, new_signing_key
from protocol.reference import CaseSource

SAMPLE_NOTE = "示例数据：区划代码、名称和当事人均为演示虚构 / sample data, invented for the demo"


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    tier: Tier
    name: str


def sample_network() -> list[NodeSpec]:
    specs = [NodeSpec("330600000000", Tier.CITY, "示例市")]
    for county, cname in (("330681", "示例县甲"), ("330683", "示例县乙")):
        specs.append(NodeSpec(county + "000000", Tier.COUNTY, cname))
        for t, tname in (("101", "东镇"), ("111", "西镇")):
            specs.append(NodeSpec(county + t + "000", Tier.TOWNSHIP, cname + tname))
            for v, vname in (("201", "上村"), ("202", "中村"), ("203", "下村")):
                specs.append(NodeSpec(county + t + v, Tier.VILLAGE, cname + tname + vname))
    return specs


def write_configs(directory: Path, broker_url: str) -> dict[str, Path]:
    """One folder per node with its config and its secrets file, as `fengqiao node init` would
    write them: each node with its own fresh data key and message keys, all with the network's
    identity key; the network's public keys in one `keys.json` beside the folders, as
    `fengqiao deploy keys` gathers them (every message of the demo is signed and sealed).

    On RabbitMQ the demo connects as one shared user (the URL given), so it cannot require each
    message's user id to be its sender's; on the embedded transport every node has its own."""
    identity = new_identity_key()
    password = urllib.parse.unquote(urllib.parse.urlsplit(broker_url).password or "") or None
    shared_user = not broker_url.startswith("memory://")
    paths: dict[str, Path] = {}
    public = KeyDirectory()
    for spec in sample_network():
        folder = directory / spec.node_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "fengqiao.toml"
        path.write_text(
            f'# {SAMPLE_NOTE}\nnode_id = "{spec.node_id}"\ntier = "{spec.tier.value}"\n'
            f'name = "{spec.name}"\ndatabase = "fengqiao.db"\n'
            f'broker_url = "{without_password(broker_url)}"\n'
            f"require_user_id = {'false' if shared_user else 'true'}\n"
            f'keys_file = "../{KEYS_FILE_NAME}"\n'
            # Invented parties only: the cheap party hash keeps the demo's 720 parties at
            # seconds (the standard Argon2id costs ~20 ms each). Real networks keep "standard".
            f'identity_cost = "test"\n', encoding="utf-8")
        signing, sealing = new_signing_key(), new_sealing_key()
        public = public.with_keys(spec.node_id, PublicKeys.of(
            load_signing_key(signing), load_sealing_key(sealing)))
        write_secrets(folder / SECRETS_NAME, {"data_key": new_key(), "identity_key": identity,
                                               "broker_password": password,
                                               "signing_key": signing, "sealing_key": sealing})
        paths[spec.node_id] = path
    save_directory(directory / KEYS_FILE_NAME, public)
    return paths


_TYPES = ["01"] * 5 + ["02"] * 6 + ["03"] * 4 + ["04"] * 2 + ["06"] * 3 + ["07"] * 2 + \
    ["08", "10", "10", "13", "14", "14", "15", "99"]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"


def _person(rng: random.Random, village: str, role: str) -> PartyInput:
    birth = f"{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    name = rng.choice(_SURNAMES) + rng.choice("某甲乙丙丁")
    first17 = f"{village[:6]}{birth}{rng.randint(100, 999)}"
    rng.randint(0, 9)  # was a random last digit: drawn still, so the seeded data stays the same
    return PartyInput(role=role, name=name,
                      id_number=first17 + check_char(first17),  # GB 11643: nodes refuse others
                      phone=f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}",
                      address=f"{village} 示例地址 {rng.randint(1, 99)} 号")


def seed_disputes(node: Node, count: int, rng: random.Random) -> list[str]:
    """Record `count` invented disputes at a village station."""
    ids = []
    for _ in range(count):
        group = rng.random() < 0.06
        parties = [_person(rng, node.config.node_id, "applicant"),
                   _person(rng, node.config.node_id, "respondent")]
        case = node.service.new_case(
            source=rng.choice([CaseSource.APPLICATION] * 5 + [CaseSource.GRID_REPORT,
                                                             CaseSource.OWN_INITIATIVE]),
            dispute_type=rng.choice(_TYPES), facts="（示例）双方因日常琐事发生纠纷，申请调解。",
            parties=parties, people_involved=rng.randint(5, 30) if group else 2)
        if case.state is CaseState.REPORTED:  # a grid worker's report: the committee registers it
            node.service.act(case.case_id, commands.register)
        ids.append(case.case_id)
    return ids
