"""What people type (issue 16 item 7): ID numbers checked by GB 11643, phones in one form,
control and text-direction characters refused in names and facts and stripped from output."""

from __future__ import annotations

from datetime import date

import pytest

from nodes.domain.case import DomainError
from nodes.domain.identity_numbers import (
    check_char,
    check_id_number,
    check_phone,
    normalise_phone,
)
from nodes.service import PartyInput, check_party
from nodes.text_input import check_facts, check_name, printable, printable_tree, search_key

VALID_ID = "11010519491231002X"  # GB 11643-1999's own example
TODAY = date(2026, 1, 5)


# --- GB 11643 ---------------------------------------------------------------------------
@pytest.mark.parametrize(("first17", "check"), [("11010519491231002", "X"),
                                            ("33068119900101123", "7"),
                                            ("33068119920315432", "4")])
def test_check_character_follows_gb_11643(first17: str, check: str) -> None:
    assert check_char(first17) == check


@pytest.mark.parametrize("typed", [VALID_ID, "11010519491231002x", " 110105 19491231 002X ",
                                   "１１０１０５１９４９１２３１００２Ｘ"])
def test_a_valid_id_number_in_any_typing_gives_one_form(typed: str) -> None:
    assert check_id_number(typed, TODAY) == VALID_ID


@pytest.mark.parametrize("wrong", ["110105194912310021", "110105194912310020",
                                   "11010519491231003X", "01010519491231002X"])
def test_a_mistyped_digit_fails_the_check_character(wrong: str) -> None:
    with pytest.raises(DomainError) as info:
        check_id_number(wrong, TODAY)
    assert info.value.code == "party_id_check"
    assert wrong not in str(info.value)  # never repeats the number (it may reach a log)


@pytest.mark.parametrize("birth", ["19490230", "19491301", "18991231", "20260106", "00000000"])
def test_the_birth_date_must_be_a_real_past_date(birth: str) -> None:
    first17 = f"110105{birth}002"
    with pytest.raises(DomainError) as info:
        check_id_number(first17 + check_char(first17), TODAY)
    assert info.value.code == "party_id_birth"


def test_a_birth_date_of_today_is_accepted() -> None:
    first17 = "11010520260105002"
    assert check_id_number(first17 + check_char(first17), TODAY).startswith(first17)


@pytest.mark.parametrize("wrong", ["1101051949123100", "11010519491231002Y", "ABCDEFGHIJKLMNOPQR"])
def test_a_number_of_the_wrong_form_is_refused(wrong: str) -> None:
    with pytest.raises(DomainError) as info:
        check_id_number(wrong, TODAY)
    assert info.value.code == "party_id_number"


# --- phones ------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "stored"), [
    ("13800000000", "13800000000"),
    ("+86 138 0000 0000", "13800000000"),
    ("+86-138-0000-0000", "13800000000"),
    ("0086 13800000000", "13800000000"),
    ("8613800000000", "13800000000"),
    ("１３８ ００００ ００００", "13800000000"),
    ("(+86) 138.0000.0000", "13800000000"),
    ("0575-87654321", "0575-87654321"),
    ("0575 8765 4321", "057587654321"),
    ("+86 575 8765 4321", "057587654321"),
    ("+86 (0575) 87654321", "057587654321"),
])
def test_phones_are_normalised(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored
    assert check_phone(typed) == stored


@pytest.mark.parametrize("wrong", ["1380000000", "23800000000", "+1 415 555 0100", "电话"])
def test_a_wrong_phone_is_refused(wrong: str) -> None:
    with pytest.raises(DomainError) as info:
        check_phone(wrong)
    assert info.value.code == "party_phone"


def test_check_party_stores_the_one_form() -> None:
    party = check_party(PartyInput("applicant", " 张三 ", "11010519491231002x",
                                   "+86 138 0000 0000"), TODAY)
    assert (party.name, party.id_number, party.phone) == ("张三", VALID_ID, "13800000000")


# --- control and text-direction characters --------------------------------------------------
@pytest.mark.parametrize("name", ["张\x1b[31m三", "张三\u202e", "\u2066张三\u2069", "张\x00三",
                                  "张\n三", "张\t三", "张\x9b三", "张\u200f三"])
def test_names_with_control_or_direction_characters_are_refused(name: str) -> None:
    with pytest.raises(DomainError) as info:
        check_name(name)
    assert info.value.code == "party_name_control"
    with pytest.raises(DomainError):
        check_party(PartyInput("applicant", name))


def test_facts_refuse_a_terminal_escape_but_keep_lines_and_tabs() -> None:
    with pytest.raises(DomainError) as info:
        check_facts("两家争执\x1b[31m红色\x1b[0m")
    assert info.value.code == "facts_control"
    with pytest.raises(DomainError):
        check_facts("院墙\u202e边界")
    assert check_facts("第一行\r\n第二行\t补充\n") == "第一行\n第二行\t补充"


def test_facts_longer_than_the_protocol_carries_are_refused() -> None:
    with pytest.raises(DomainError) as info:
        check_facts("纠" * 20_001)
    assert info.value.code == "facts_too_long"


def test_output_is_stripped_of_every_unsafe_character() -> None:
    stored = "两家\x1b[31m争执\x07\u202e反向\u2067隔离\u2069\x85\x9b结束\n第二行\t补充"
    assert printable(stored) == "两家争执反向隔离结束\n第二行\t补充"
    assert printable("\x1b]0;标题\x07正文\x9b2J完") == "正文完"  # OSC and 8-bit CSI whole
    tree = printable_tree({"facts": stored, "parties": [{"name": "张\u202e三"}], "n": 3,
                           "k\x1b": ("a\x00",)})
    assert tree == {"facts": printable(stored), "parties": [{"name": "张三"}], "n": 3,
                    "k": ["a"]}


def test_search_key_folds_width_case_spaces_and_name_dots() -> None:
    assert search_key("阿卜杜 · 热合曼") == search_key("阿卜杜热合曼")
    assert search_key("ＺＨＡＮＧ San") == "zhangsan"
