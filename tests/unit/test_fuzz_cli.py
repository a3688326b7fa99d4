"""Fuzzing the command line's input parsing in process, through `nodes.cli.main.main(argv)`
(issue 4, item 5; README: "Bad input prints one sentence and exits 2 with the database unchanged").

For party specs, dispute types, grid ids, people counts, dates, `--perform WHAT:DATE`, free text,
case ids, states and the area codes of `node init`: the exit code is always 0 or 2 (1 is an internal
error and must never happen), stderr never holds a traceback, and after a non-zero exit the
station's database is unchanged (its `iterdump()` before and after). What a command accepts must
also be usable afterwards: a case that `case new` took can be shown and escalated, an agreement
`case agree` took can be shown, a config `node init` wrote can be opened.

Arguments may contain what a real command line can deliver: any Unicode, and lone surrogates
(bytes that are not UTF-8 arrive in `sys.argv` as surrogate escapes, e.g. from a GBK terminal).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from fengqiao.main import main
from nodes.labels import type_label
from protocol.reference import DISPUTE_TYPES, DISPUTE_TYPES_VERSION, EscalationReason

FUZZ = settings(max_examples=50, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NOW = "2026-01-05T10:00:00+08:00"
CODE = "339799101201"
PARENT = "339799101000"
REGISTERED, MEDIATING = f"{CODE}-2026-00001", f"{CODE}-2026-00002"
TYPES = DISPUTE_TYPES[DISPUTE_TYPES_VERSION].values()


# --------------------------------------------------------------------------- running the CLI

@dataclass
class Run:
    argv: list[str]
    code: int
    out: str
    err: str


def cli(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    run = Run(list(argv), code, out.getvalue(), err.getvalue())
    if currently_in_test_context():
        note(f"{[a[:80] for a in run.argv]} -> {run.code} {run.err.strip()[:300]!r}")
    return run


def dump(folder: Path) -> str:
    conn = sqlite3.connect(folder / "fengqiao.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def checked(folder: Path, *argv: str) -> Run:
    """Run a command on the station in `folder`; exit 0 or 2, never a traceback, and a refusal
    leaves the database as it was."""
    before = dump(folder)
    run = cli(*argv)  # the station's config comes from FENGQIAO_CONFIG (see `station`)
    assert run.code in (0, 2), f"exit {run.code}: {run.err}"
    assert "Traceback" not in run.err + run.out
    if run.code == 2:
        assert run.err.strip(), "a refusal must say why"
        assert dump(folder) == before, "a refused command changed the database"
    return run


@pytest.fixture(scope="module", autouse=True)
def environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("FENGQIAO_")]:
            mp.delenv(name)
        mp.setenv("FENGQIAO_NOW", NOW)
        yield


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A village station with one REGISTERED and one MEDIATING case (made once, copied per example)."""
    folder = tmp_path_factory.mktemp("station")
    assert cli("node", "init", "--code", CODE, "--name", "样例村", "--dir", str(folder),
               "--identity-key", "fuzz-identity-key-0123").code == 0
    # The network's keys.json lists the parent, as `deploy keys` makes it: escalations seal to it.
    town = tmp_path_factory.mktemp("township")
    assert cli("node", "init", "--code", PARENT, "--dir", str(town)).code == 0
    assert cli("deploy", "keys", str(folder / "public-keys.json"), str(town / "public-keys.json"),
               "--out", str(folder / "keys.json")).code == 0
    config = ("--config", str(folder / "fengqiao.toml"))
    for _ in range(2):
        assert cli("case", "new", "--type", "02", "--applicant", "张三::13800000000",
                   "--respondent", "李四", "--facts", "院墙边界（样例）", *config).code == 0
    for step in (("accept", "--consent"), ("mediate",)):
        assert cli("case", step[0], MEDIATING, *step[1:], *config).code == 0
    return folder


@contextlib.contextmanager
def station(template: Path) -> Iterator[Path]:
    """A fresh copy of the template station, named by FENGQIAO_CONFIG while in use."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "station"
        shutil.copytree(template, folder)
        os.environ["FENGQIAO_CONFIG"] = str(folder / "fengqiao.toml")
        try:
            yield folder
        finally:
            del os.environ["FENGQIAO_CONFIG"]


# --------------------------------------------------------------------------- strategies

surrogates = st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1,
                     max_size=3)
specials = st.sampled_from([
    "", " ", "\u3000", "-", "--", ":", "：", "::", ":：:", "a:b:c:d:e:f", "\x00", "a\x00b", "\n",
    "２０２６-０１-０５", "٣", "²", "１２", "9" * 30, "-1", "0", "1e3", "NaN", "applicant", "申请人:",
    "other:张三:33068119800101123X:13800000000:样例村1号", "张三:123", "张三::12", "'; DROP TABLE cases;--",
    "%s%n{0}", "../../etc/passwd", "\u202e反向", "🙂",
])
long_texts = st.one_of(  # around the protocol's limits: 20,000 for text, 200 for short fields
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "纠"]), st.integers(19_995, 20_005)),
    st.builds(lambda n: "址" * n, st.integers(95, 260)))
texts = st.one_of(st.text(max_size=30), specials, surrogates,
                  st.builds(lambda a, s: a + s, st.text(max_size=5), surrogates), long_texts)
separators = st.sampled_from([":", "：", "::", ""])
roles = st.sampled_from(["applicant", "respondent", "other", "申请人", "被申请人", "其他", "APPLICANT",
                         "judge", ""])
party_specs = st.one_of(
    texts,
    st.builds(lambda parts, sep: sep.join(parts), st.lists(texts, min_size=1, max_size=5), separators),
    st.builds(lambda name, id_no, phone, addr: f"{name}:{id_no}:{phone}:{addr}",
              st.sampled_from(["王五", "赵六", " "]) | texts,
              st.sampled_from(["", "33068119800101123X", "33068119800101123x", "123"]) | texts,
              st.sampled_from(["", "13800000000", "0575-87654321", "1"]) | texts, texts),
)
party_args = st.lists(st.tuples(st.sampled_from(["--party", "--applicant", "--respondent"]),
                                party_specs), max_size=4)
type_args = st.one_of(st.sampled_from([d.code for d in TYPES] + [type_label(d.code, "zh") for d in TYPES]
                                      + [d.name for d in TYPES] + ["2", "00", "100", "٠٢"]), texts)
ints = st.one_of(st.integers(-5, 200_000).map(str), st.integers(2**62, 2**80).map(str), texts)
dates = st.one_of(st.dates().map(date.isoformat), texts, st.sampled_from(
    ["9999-12-31", "0001-01-01", "2026-02-29", "2026-02-30", "2026-1-5", "20260105",
     "2026-01-05T00:00", "2026-01-05 ", "２０２６-０１-０５"]))
grid_ids = st.one_of(st.just(f"{CODE}001"), st.text("0123456789", min_size=15, max_size=15),
                     st.sampled_from(["３３９７９９１０１２０１００１", "٣٣٩٧٩٩١٠١٢٠١٠٠١"]), texts)
case_ids = st.one_of(st.sampled_from([REGISTERED, MEDIATING, f"{CODE}-2026-00099"]), texts)
codes = st.one_of(st.text("0123456789", min_size=12, max_size=12), st.sampled_from(
    [CODE, "339799101000", "339799000000", "339700000000", "339799101400", "330000000000",
     "３３９７９９１０１２０１", "000000000000"]), texts)


def opt(name: str, value: str | None) -> list[str]:
    # `--name=value` keeps a value that starts with "-" a value rather than an option.
    return [] if value is None else [f"{name}={value}"]


# --------------------------------------------------------------------------- case new

@FUZZ
@given(type_arg=st.sampled_from(["02", "邻里"]) | type_args, facts=long_texts | texts,
       parties=party_args, valid_party=st.booleans(), grid=st.none() | grid_ids,
       people=st.none() | ints, source=st.sampled_from(["application", "grid_report", "referral"]))
def test_case_new(template: Path, type_arg: str, facts: str, parties: list[tuple[str, str]],
                  valid_party: bool, grid: str | None, people: str | None, source: str) -> None:
    with station(template) as folder:
        argv = ["case", "new", *opt("--type", type_arg), *opt("--facts", facts),
                "--source", source, *opt("--grid-id", grid), *opt("--people", people),
                *(["--applicant", "王五"] if valid_party else [])]
        for flag, spec in parties:
            argv += opt(flag, spec)
        run = checked(folder, *argv)
        event(f"case new: exit {run.code}, facts of {len(facts)}")
        if run.code == 0:  # what was accepted must be usable: shown and sent up
            case_id = f"{CODE}-2026-00003"
            assert checked(folder, "case", "show", case_id, "--json").code == 0
            if source != "grid_report":
                escalated = checked(folder, "case", "escalate", case_id, "--reason", "cross_area",
                                    "--consent")
                assert escalated.code == 0, escalated.err


# --------------------------------------------------------------------------- agreements, dates

@FUZZ
@given(form=st.sampled_from(["oral", "written"]), terms=texts, effective=st.none() | dates,
       perform=st.lists(st.builds(lambda what, sep, when: f"{what}{sep}{when}", texts, separators,
                                  dates) | texts, max_size=3),
       signed=st.booleans(), sealed=st.booleans())
def test_case_agree(template: Path, form: str, terms: str, effective: str | None,
                    perform: list[str], signed: bool, sealed: bool) -> None:
    with station(template) as folder:
        argv = ["case", "agree", MEDIATING, "--form", form, *opt("--terms", terms),
                *opt("--effective-date", effective)]
        for item in perform:
            argv += opt("--perform", item)
        argv += ["--signed"] * signed + ["--sealed"] * sealed
        if checked(folder, *argv).code == 0:
            assert checked(folder, "case", "show", MEDIATING).code == 0
            assert checked(folder, "case", "list", "--overdue", "--json").code == 0
            checked(folder, "case", "jc-apply", MEDIATING)
            checked(folder, "case", "perform", MEDIATING)


# --------------------------------------------------------------------------- transitions

TRANSITIONS: list[tuple[str, ...]] = [
    ("reject", "--reason"), ("consent", "--note"), ("breach", "--reason"),
    ("terminate", "--remedies-notified", "--reason"), ("refer-out", "--to", "court", "--reason"),
    ("close", "--note"), ("red-flag", "--police-reported", "--note"),
    ("escalate", "--reason", "cross_area", "--consent", "--note"),
    ("hand-down", "--instruction"), ("follow-up", "--honoured", "--note"),
]


@FUZZ
@given(transition=st.sampled_from(TRANSITIONS), case_id=case_ids, text=long_texts | texts,
       number=st.none() | ints, escalation_reason=st.sampled_from(list(EscalationReason)))
def test_case_transitions(template: Path, transition: tuple[str, ...], case_id: str, text: str,
                          number: str | None, escalation_reason: EscalationReason) -> None:
    name, *fixed, text_option = transition
    fixed = [escalation_reason.value if f == "cross_area" else f for f in fixed]
    with station(template) as folder:
        argv = ["case", name, *fixed, *opt(text_option, text)]
        if number is not None and name == "hand-down":
            argv += opt("--days", number)
        if checked(folder, *argv, "--", case_id).code == 0:
            assert checked(folder, "case", "show", "--json", "--", case_id).code == 0
            # What the transition recorded travels in the dossier if the case goes up.
            checked(folder, "case", "escalate", "--reason", "cross_area", "--consent", "--", case_id)


@FUZZ
@given(case_id=st.sampled_from([REGISTERED, MEDIATING]), days=ints, both=st.booleans())
def test_case_extend(template: Path, case_id: str, days: str, both: bool) -> None:
    with station(template) as folder:
        checked(folder, "case", "extend", case_id, *opt("--days", days),
                *(["--both-consent"] if both else []))


# --------------------------------------------------------------------------- reading

@FUZZ
@given(state=st.none() | st.one_of(st.sampled_from(["MEDIATING", "mediating", "调解中", "已登记",
                                                    "Registered", "CLOSED "]), texts),
       case_id=case_ids, lang=st.sampled_from(["zh", "en"]), as_json=st.booleans())
def test_list_and_show(template: Path, state: str | None, case_id: str, lang: str,
                       as_json: bool) -> None:
    with station(template) as folder:
        before = dump(folder)
        json_flag = ["--json"] if as_json else []
        checked(folder, "case", "list", *opt("--state", state), "--lang", lang, *json_flag)
        checked(folder, "case", "show", f"--lang={lang}", *json_flag, "--", case_id)
        assert dump(folder) == before  # reading never writes


# --------------------------------------------------------------------------- node init

@FUZZ
@given(code=codes, parent=st.none() | codes, tier=st.none() | st.sampled_from(
    ["village", "township", "county", "city", "province"]), name=st.none() | texts,
       salt=st.none() | texts, target_days=st.none() | ints)
def test_node_init(code: str, parent: str | None, tier: str | None, name: str | None,
                   salt: str | None, target_days: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "node"
        run = cli("node", "init", *opt("--code", code), *opt("--parent", parent),
                  *opt("--tier", tier), *opt("--name", name), *opt("--identity-key", salt),
                  *opt("--target-days", target_days), "--dir", str(target))
        assert run.code in (0, 2), f"exit {run.code}: {run.err}"
        assert "Traceback" not in run.err + run.out
        config = target / "fengqiao.toml"
        if run.code == 2:
            assert run.err.strip()
            assert not config.exists()
        else:  # the config it wrote opens
            listed = cli("case", "list", "--config", str(config))
            assert listed.code == 0, listed.err


# --------------------------------------------------------------------------- anything at all

COMMANDS = [("case", "new"), ("case", "agree", MEDIATING), ("case", "extend", MEDIATING),
            ("case", "escalate", REGISTERED), ("case", "list"), ("case", "show"),
            ("case", "hand-down", REGISTERED), ("case", "jc-result", MEDIATING), ("case",), ()]
OPTIONS = ["--type", "--facts", "--party", "--applicant", "--respondent", "--grid-id", "--people",
           "--form", "--terms", "--perform", "--effective-date", "--days", "--both-consent",
           "--reason", "--consent", "--note", "--state", "--json", "--lang", "--confirmed",
           "--refused", "--instruction", "--source", "--accusation", "--accused", "02", "oral",
           "cross_area", "en", MEDIATING]


@FUZZ
@given(command=st.sampled_from(COMMANDS),
       tokens=st.lists(st.one_of(st.sampled_from(OPTIONS), texts, dates, codes), max_size=8))
def test_arbitrary_arguments(template: Path, command: tuple[str, ...], tokens: list[str]) -> None:
    with station(template) as folder:
        checked(folder, *command, *tokens)


# --------------------------------------------------------------------------- found by the fuzzing

LONG = "纠" * 20_001
FOUND: list[tuple[str, list[str]]] = [  # each was exit 1 (an internal error) before its fix
    ("facts too long to escalate", ["case", "new", "--type", "02", "--applicant", "张三",
                                    "--facts", LONG]),
    ("party address too long to escalate", ["case", "new", "--type", "02", "--facts", "f",
                                            "--applicant", "张三:::" + "址" * 201]),
    ("more people than an escalation carries", ["case", "new", "--type", "02", "--applicant",
                                                "张三", "--facts", "f", "--people", "100001"]),
    ("people beyond SQLite's integers", ["case", "new", "--type", "02", "--applicant", "张三",
                                         "--facts", "f", "--people", "9" * 30]),
    ("more parties than an escalation carries", ["case", "new", "--type", "02", "--facts", "f",
                                                 *["--respondent", "李四"] * 501]),
    ("a note too long to escalate", ["case", "escalate", REGISTERED, "--reason", "cross_area",
                                     "--consent", "--note", LONG]),
    ("a consent note that would break the dossier", ["case", "consent", REGISTERED, "--note",
                                                     LONG]),
    ("`--party=--` arrived as a list", ["case", "new", "--type", "02", "--facts", "f",
                                        "--party=--"]),
    ("non-UTF-8 bytes in facts", ["case", "new", "--type", "02", "--applicant", "张三",
                                  "--facts", "\udcb6\udcab"]),
    ("non-UTF-8 bytes in a name", ["case", "new", "--type", "02", "--applicant", "\udcff",
                                   "--facts", "f"]),
    ("non-UTF-8 bytes in a case id", ["case", "show", "\udcff"]),
    ("NUL in a folder name", ["node", "init", "--code", "339799101202", "--dir", "x\x00y"]),
]


@pytest.mark.parametrize("argv", [argv for _, argv in FOUND], ids=[label for label, _ in FOUND])
def test_inputs_found_by_fuzzing_are_refused(template: Path, argv: list[str]) -> None:
    with station(template) as folder:
        assert checked(folder, *argv).code == 2


def test_the_limits_themselves_are_accepted_and_escalate(template: Path) -> None:
    with station(template) as folder:
        parties = ["--applicant", "张三:::" + "址" * 200, *["--respondent", "李四"] * 499]
        assert checked(folder, "case", "new", "--type", "02", "--facts", "纠" * 20_000,
                       "--people", "100000", *parties).code == 0
        assert checked(folder, "case", "new", "--type", "02", "--applicant", "张三",
                       "--facts=--", "--json").code == 0  # "--" as a value is a value
        shown = checked(folder, "case", "show", f"{CODE}-2026-00004", "--json")
        assert "\"--\"" in shown.out
        assert checked(folder, "case", "escalate", f"{CODE}-2026-00003", "--reason",
                       "cross_area", "--consent", "--note", "n" * 20_000).code == 0
