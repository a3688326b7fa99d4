"""Area codes, the node tree and the routing keys built from them (DOMAIN §2, DESIGN §3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.areas import AreaCodeError, AreaTree, Tier, default_parent, tier_of, validate_code
from protocol.routing import (
    children_pattern,
    down_key,
    escalation_key,
    key_matches,
    node_key,
    report_key,
    subtree_pattern,
    up_bindings,
)

VILLAGE = "330681111242"  # 浙江省 / 绍兴市 / 诸暨市 / 马剑镇 / 状元村
TOWNSHIP = "330681111000"
COUNTY = "330681000000"
CITY = "330600000000"
DONGGUAN = "441900000000"  # a city without counties
DONGGUAN_TOWN = "441900101000"


# --- validate_code ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("33068111124", "12 digits"),  # 11 digits
        ("3306811112420", "12 digits"),  # 13 digits
        ("", "12 digits"),
        ("33068111124X", "12 digits"),
        ("3306811112 2", "12 digits"),
        ("３３0681111242", "12 digits"),  # full-width digits are digits to str.isdigit()
        ("33068111124²", "12 digits"),
        ("000681111242", "province part is 00"),
        ("330081111242", "city part is 00"),
        ("330681000242", "village part set but township part is 000"),
        ("330681400000", "township part 400 is outside 001-399"),
        ("330681999242", "township part 999 is outside 001-399"),
        ("330681111400", "village part 400 is outside 001-399"),
        ("330681111999", "village part 999 is outside 001-399"),
    ],
)
def test_validate_code_error_names_code_and_problem(code: str, problem: str) -> None:
    with pytest.raises(AreaCodeError) as info:
        validate_code(code)
    message = str(info.value)
    assert problem in message
    assert repr(code) in message or code in message


def test_validate_code_rejects_non_strings_with_area_code_error() -> None:
    with pytest.raises(AreaCodeError, match="12 digits"):
        validate_code(330681111242)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", [VILLAGE, TOWNSHIP, COUNTY, CITY, DONGGUAN_TOWN,
                                  "330681001001", "330681399399"])
def test_validate_code_accepts_valid_codes(code: str) -> None:
    assert validate_code(code) == code


# --- tier_of and default_parent ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "tier", "parent"),
    [
        (VILLAGE, Tier.VILLAGE, TOWNSHIP),
        (TOWNSHIP, Tier.TOWNSHIP, COUNTY),
        (COUNTY, Tier.COUNTY, CITY),
        (CITY, Tier.CITY, None),
    ],
)
def test_tier_and_default_parent_at_every_tier(code: str, tier: Tier, parent: str | None) -> None:
    assert tier_of(code) is tier
    assert default_parent(code) == parent


def test_default_parent_chain_walks_village_to_city() -> None:
    chain = [VILLAGE]
    while (parent := default_parent(chain[-1])) is not None:
        chain.append(parent)
    assert chain == [VILLAGE, TOWNSHIP, COUNTY, CITY]
    assert [tier_of(c) for c in chain] == list(Tier)


def test_city_without_counties_township_parent_is_the_city() -> None:
    assert tier_of(DONGGUAN) is Tier.CITY
    assert tier_of(DONGGUAN_TOWN) is Tier.TOWNSHIP
    assert default_parent(DONGGUAN_TOWN) == DONGGUAN
    assert default_parent("441900101201") == DONGGUAN_TOWN
    assert AreaTree().ancestors("441900101201") == [DONGGUAN_TOWN, DONGGUAN]


def test_default_parent_validates() -> None:
    with pytest.raises(AreaCodeError):
        default_parent("330681000242")


# --- AreaTree -----------------------------------------------------------------------------------
def test_area_tree_without_overrides_uses_derivation() -> None:
    tree = AreaTree()
    assert tree.parent_of(VILLAGE) == TOWNSHIP
    assert tree.ancestors(VILLAGE) == [TOWNSHIP, COUNTY, CITY]
    assert tree.ancestors(CITY) == []
    assert tree.is_under(VILLAGE, COUNTY)
    assert not tree.is_under(VILLAGE, "330682000000")
    assert not tree.is_under(COUNTY, VILLAGE)


def test_area_tree_overrides_win_over_derivation() -> None:
    # A township the configuration attaches directly to the city (the county is skipped).
    tree = AreaTree(overrides={TOWNSHIP: CITY})
    assert tree.parent_of(TOWNSHIP) == CITY
    assert tree.ancestors(VILLAGE) == [TOWNSHIP, CITY]
    assert not tree.is_under(VILLAGE, COUNTY)
    # Other nodes keep the derived parent.
    assert tree.parent_of("330681112000") == COUNTY


def test_area_tree_override_to_none_makes_a_root() -> None:
    tree = AreaTree(overrides={COUNTY: None})
    assert tree.parent_of(COUNTY) is None
    assert tree.ancestors(VILLAGE) == [TOWNSHIP, COUNTY]


def test_area_tree_override_with_bad_parent_code_is_refused() -> None:
    tree = AreaTree(overrides={TOWNSHIP: "330681000242"})
    with pytest.raises(AreaCodeError, match="330681000242"):
        tree.parent_of(TOWNSHIP)


@pytest.mark.parametrize(
    "overrides",
    [
        {TOWNSHIP: TOWNSHIP},  # self loop
        {TOWNSHIP: COUNTY, COUNTY: TOWNSHIP},  # two-node cycle
        {COUNTY: "330681112000"},  # 330681112000 -> county -> 330681112000 (derived + override)
    ],
)
def test_area_tree_cycle_is_detected(overrides: dict[str, str | None]) -> None:
    tree = AreaTree(overrides=overrides)
    with pytest.raises(AreaCodeError, match="cycle"):
        tree.ancestors(VILLAGE)


def test_area_tree_cycle_not_through_the_start_node_is_detected() -> None:
    # The village is not on the cycle, its ancestors are.
    tree = AreaTree(overrides={COUNTY: CITY, CITY: COUNTY})
    with pytest.raises(AreaCodeError, match="cycle"):
        tree.ancestors(VILLAGE)


# --- routing keys -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "key"),
    [
        (VILLAGE, "33.06.81.111.242"),
        (TOWNSHIP, "33.06.81.111"),
        (COUNTY, "33.06.81"),
        (CITY, "33.06"),
        (DONGGUAN_TOWN, "44.19.00.101"),
    ],
)
def test_routing_keys_at_every_tier(code: str, key: str) -> None:
    assert node_key(code) == key
    assert escalation_key(code) == key
    assert report_key(code) == key
    assert down_key(code) == key


def test_routing_key_refuses_bad_code() -> None:
    with pytest.raises(AreaCodeError):
        node_key("330681000242")


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("a.b", "a.b", True),
        ("a.b", "a.c", False),
        ("a.b", "a.b.c", False),
        ("a.*", "a.b", True),
        ("a.*", "a", False),
        ("a.*", "a.b.c", False),
        ("*.b", "a.b", True),
        ("*", "a", True),
        ("*", "a.b", False),
        ("a.#", "a", True),
        ("a.#", "a.b", True),
        ("a.#", "a.b.c.d", True),
        ("a.#", "b.a", False),
        ("#", "a.b.c", True),
        ("#.c", "c", True),
        ("#.c", "a.b.c", True),
        ("#.c", "a.c.b", False),
        ("a.#.d", "a.d", True),
        ("a.#.d", "a.b.c.d", True),
        ("a.#.d", "a.b.c", False),
        ("a.*.#", "a", False),
        ("a.*.#", "a.b", True),
        ("33.06.8", "33.06.81", False),  # words, not string prefixes
    ],
)
def test_key_matches_topic_semantics(pattern: str, key: str, expected: bool) -> None:
    assert key_matches(pattern, key) is expected


def _code(county: str, township: int, village: int) -> str:
    return f"{county}{township:03d}{village:03d}"


@settings(max_examples=150, deadline=None)
@given(township=st.integers(1, 399), village=st.integers(0, 399))
def test_county_subtree_pattern_sees_everything_under_it_and_nothing_next_door(
    township: int, village: int
) -> None:
    pattern = subtree_pattern(COUNTY)
    assert pattern == "33.06.81.#"
    mine = _code("330681", township, village)
    sibling = _code("330682", township, village)
    assert key_matches(pattern, report_key(mine))
    assert not key_matches(pattern, report_key(sibling))
    # The city sees both counties.
    assert key_matches(subtree_pattern(CITY), report_key(mine))
    assert key_matches(subtree_pattern(CITY), report_key(sibling))


def test_subtree_pattern_includes_the_hub_itself() -> None:
    assert key_matches(subtree_pattern(COUNTY), report_key(COUNTY))
    assert not key_matches(subtree_pattern(COUNTY), report_key(CITY))


@settings(max_examples=150, deadline=None)
@given(village=st.integers(1, 399), other_township=st.integers(1, 399))
def test_township_children_pattern_matches_only_its_own_villages(
    village: int, other_township: int
) -> None:
    pattern = children_pattern(TOWNSHIP)
    assert key_matches(pattern, escalation_key(_code("330681", 111, village)))
    if other_township != 111:
        assert not key_matches(pattern, escalation_key(_code("330681", other_township, village)))
    # The same township number in another county is not a child either.
    assert not key_matches(pattern, escalation_key(_code("330682", 111, village)))


def test_township_children_pattern_does_not_match_the_township_or_its_parent() -> None:
    pattern = children_pattern(TOWNSHIP)
    assert not key_matches(pattern, escalation_key(TOWNSHIP))
    assert not key_matches(pattern, escalation_key(COUNTY))


def test_up_bindings_of_plain_hub_is_its_children_pattern() -> None:
    assert up_bindings(COUNTY, AreaTree()) == ["33.06.81.*"]
    # A configured child one level down needs no extra binding.
    assert up_bindings(COUNTY, AreaTree(), [TOWNSHIP]) == ["33.06.81.*"]


def test_up_bindings_for_city_without_counties_binds_townships_exactly() -> None:
    towns = ["441900101000", "441900102000", "441900003000"]
    bindings = up_bindings(DONGGUAN, AreaTree(), towns)
    assert bindings == ["44.19.*", "44.19.00.003", "44.19.00.101", "44.19.00.102"]
    for town in towns:
        assert any(key_matches(b, escalation_key(town)) for b in bindings)
    # A village under such a township escalates to the township, never straight to the city.
    assert not any(key_matches(b, escalation_key("441900101201")) for b in bindings)
    # Without the configured children, the derived pattern alone would miss them.
    assert not key_matches(children_pattern(DONGGUAN), escalation_key(towns[0]))


def test_up_bindings_follow_tree_overrides_and_ignore_children_of_others() -> None:
    tree = AreaTree(overrides={TOWNSHIP: CITY})
    bindings = up_bindings(CITY, tree, [TOWNSHIP, "330681112000"])
    # 330681112000 still belongs to its county, so the city does not bind it.
    assert bindings == ["33.06.*", "33.06.81.111"]
    assert key_matches(bindings[1], escalation_key(TOWNSHIP))
    assert not any(key_matches(b, escalation_key("330681112000")) for b in bindings)
