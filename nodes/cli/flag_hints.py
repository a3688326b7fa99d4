"""The command line's options beside a rule's sentence.

The domain's refusals name what is missing in plain words, because the web app shows the same
sentences to mediators; at the command line the option that supplies it is added here, after
the sentence, by the refusal's code (`DomainError.code`, unchanged whatever the wording).
"""

from __future__ import annotations

from collections.abc import Mapping

from nodes import i18n
from protocol.text import Translatable

FLAGS: Mapping[str, str] = {
    "correct_reason": "--reason",
    "correct_nothing": "--facts, --party N",
    "correct_fields": "--name, --id-number, --phone, --address",
    "refuse_remedies": "--remedies-notified",
    "follow_up_breach": "--note",
    "choice_empty": "--mediator, --session",
    "refer_agreed_to_court": "refer-out --to court",
    "written_performance": "--manner, --place, --perform WHAT:YYYY-MM-DD",
    "accused_without_accusation": "--accusation",
    "accusation_without_accused": "--accused",
    "accusation_up_to_accused": "refer-out --to organ",
}


def with_flags(error: Translatable, text: str) -> str:
    """`text` (the error's sentence) with its options after it, if the command line has any."""
    flags = FLAGS.get(error.code)
    if flags is None:
        return text
    return f"{text}（{flags}）" if i18n.current() == "zh" else f"{text} ({flags})"
