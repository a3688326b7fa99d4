"""The sentences the command line itself prints, by key: each key names a message id of the one
catalogue (`nodes.i18n`), where the Chinese (default) and English texts live.

Names of states, actions and reference data are in `nodes.labels`.
"""

from __future__ import annotations

import os

from nodes import i18n
from nodes.i18n import DEFAULT_LANG, LANGS, N_

__all__ = ["DEFAULT_LANG", "LANGS", "env_lang", "message", "t"]

_MESSAGES: dict[str, str] = {
    "error_prefix": N_("error: "),
    "internal": N_("internal error ({kind}); run again with FENGQIAO_DEBUG=1 to see the details in"
                   " the log"),
    "interrupted": N_("interrupted"),
    "usage_hint": N_(" (see {prog} --help)"),
    "env_lang_bad": N_("environment variable FENGQIAO_LANG is {value!r}; use zh or en"),
    "env_now_bad": N_("environment variable FENGQIAO_NOW is {value!r}, not a valid time (e.g. "
                      "2026-01-05T10:00:00+08:00)"),
    "config_missing": N_("config file {path} not found; run fengqiao node init first or give --config "
                         "FILE"),
    "node_run_hub": N_("this is the config of a hub ({tier}); use fengqiao hub run"),
    "hub_run_village": N_("this is a village station's config; use fengqiao node run"),
    "flow_tier": N_("the flow table is kept by hubs (township, county, city); this node is a "
                    "{tier}"),
    "overdue_tier": N_("the subtree's overdue list is kept by hubs (township, county, city); this "
                       "node is a {tier}"),
    "demo_cases": N_("disputes per village must be 1 to 1000"),
    "config_tier": N_("config file {path}: field 'tier' is {tier}, which does not match node_id "
                      "{code} (a {derived} code)"),
    "db_missing": N_("the database {path} does not exist"),
    "choice_bad": N_("{value!r} is not a valid {what}; valid: {choices}"),
    "write_failed": N_("cannot write {path} ({detail})"),
    "tier_mismatch": N_("tier {tier} does not match area code {code} (a {derived} code)"),
    "config_exists": N_("{path} already exists and will not be overwritten; move it away first to "
                        "initialise again"),
    "parent_city": N_("a city node has no parent; drop --parent"),
    "parent_bad": N_("parent {parent} must be on a higher tier than this node"),
    "identity_short": N_("the identity key needs at least 16 characters"),
    "party_bad": N_("party {value!r} is not role:name[:id_number[:phone[:address]]] with role "
                    "applicant, respondent or other"),
    "no_party": N_("at least one party is required (--applicant, --respondent or --party)"),
    "perform_bad": N_("performance item {value!r} is not what:YYYY-MM-DD"),
    "date_bad": N_("{value!r} is not a date (YYYY-MM-DD)"),
    "int_bad": N_("{value!r} is not a positive whole number"),
    "arg_not_text": N_("argument {value} is not valid text (not UTF-8, or it contains a NUL)"),
    "arg_too_long": N_("{option} is longer than the limit of {limit} characters ({length})"),
    "party_too_long": N_("party {value!r} has a part longer than {limit} characters"),
    "people_bad": N_("people involved {value!r} must be a whole number from 1 to {limit}"),
    "too_many_parties": N_("a case has at most {limit} parties"),
    "type_bad": N_("unknown dispute type {value!r}; valid: {choices}"),
    "state_bad": N_("unknown state {value!r}; valid: {choices}"),
    "grid_bad": N_("grid id {value!r} must be 15 digits (12-digit village code + 3-digit number)"),
    "init_done": N_("created {tier} node {node_id}{name}"),
    "init_parent": N_("  parent node: {parent}"),
    "init_config": N_("  config file: {path}"),
    "init_db": N_("  database: {path}"),
    "init_db_kept": N_("  database: {path} (existed, kept)"),
    "init_holidays": N_("  holiday calendar folder: {path} (add one file per year; format in its "
                        "README.md)"),
    "init_secrets": N_("  secrets file: {path} (mode 0600: data key, identity key, broker "
                       "password)"),
    "init_salt": N_("note: every node of one network must have the same identity_key (in its "
                    "secrets file; give it with --identity-key) so repeat parties are found "
                    "across villages."),
    "init_next": N_("next: run fengqiao case new … in {dir}, or set FENGQIAO_CONFIG={path}"),
    "schema_written": N_("wrote {n} JSON Schema files:"),
    "case_created": N_("created case {case_id}, state: {state}"),
    "case_state": N_("case {case_id} is now: {state}"),
    "no_cases": N_("no matching cases"),
    "overdue_mark": N_("OVERDUE"),
    "col_case": N_("case id"),
    "col_state": N_("state"),
    "col_type": N_("dispute type"),
    "col_opened": N_("opened"),
    "col_due": N_("due (clock)"),
    "col_overdue": N_("overdue"),
    "col_seq": N_("seq"),
    "col_time": N_("time"),
    "col_action": N_("action"),
    "col_after": N_("state after"),
    "col_actor": N_("actor"),
    "col_reason": N_("reason / details"),
    "show_head": N_("case {case_id}    state: {state}"),
    "show_line1": N_("tier: {tier}    source: {source}    dispute type: {type}    people involved: "
                     "{people}"),
    "show_opened": N_("opened: {at}    grid: {grid}"),
    "show_facts": N_("facts: {facts}"),
    "show_parties": N_("parties:"),
    "show_target": N_("target duration: {amount} {unit} from {start} (start day not counted), due "
                      "{due}{ext}{overdue}"),
    "show_ext": N_(" (extended by {days} days)"),
    "show_overdue": N_(" [OVERDUE]"),
    "show_calendar": N_("  calendar: {note}"),
    "show_no_target": N_("target duration: not started (starts on acceptance)"),
    "show_agreement": N_("agreement: {form}, effective {date}; terms: {terms}"),
    "show_perform": N_("  perform: {what} (by {due})"),
    "show_jc": N_("judicial confirmation: joint application to the court by {due}; now: {status}"),
    "show_red_flag": N_("red flag: recorded, reported to the police"),
    "show_events": N_("history:"),
    "none": N_("none"),
    "init_data_key": N_("important: data_key in {path} encrypts the parties' personal data; keep "
                        "it safe and back it up apart from the database - losing it loses the "
                        "names, ID numbers and phones for good."),
    "new_key_note": N_("put the line above into the node's secrets file (one key per node); back it up "
                       "separately - losing it loses the personal data. A node whose data is already "
                       "encrypted cannot switch to a new key."),
    "audit_no_chain": N_("the database {path} has no hash chain yet; open it once with this version (any"
                         " fengqiao command) to create it"),
    "audit_intact": N_("event log hash chain intact: {rows} rows, head {head}"),
    "audit_broken": N_("event log hash chain broken, first broken link: {where}: {what}"),
    "audit_where": N_("case {case_id}, seq {seq} (row {row})"),
    "audit_hash_missing": N_("the row has no hash"),
    "audit_link": N_("prev_hash is not the previous row's hash (a row before it was deleted, "
                     "inserted or changed): expected {expected}, found {found}"),
    "audit_content": N_("the row's content was changed: its stored hash is {expected}, its content now "
                        "hashes to {found}"),
    "audit_fields": N_("; fields that differ from the report sent at the time: {fields}"),
    "audit_head": N_("the chain head records {expected} but the log has {found} (rows removed from "
                     "the end, or the head altered)"),
    "audit_seq_gap": N_("the case's events are not numbered without gaps: expected {expected}, found "
                        "{found}"),
    "audit_projection": N_("the cases table disagrees with the event log: expected {expected}, found "
                           "{found}"),
}


def t(key: str, lang: str | None = None, **kw: object) -> str:
    """The message `key` in `lang` (the current language if None), formatted with `kw`."""
    return i18n.t(_MESSAGES[key], lang, **kw)


def message(key: str) -> str:
    """The catalogue message id of `key` (to raise an error that is rendered later)."""
    return _MESSAGES[key]


def env_lang() -> str | None:
    """FENGQIAO_LANG if set (validated by the caller), else None."""
    value = os.environ.get("FENGQIAO_LANG", "").strip()
    return value or None
