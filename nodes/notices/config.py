"""`[notices]` in the node's config: which adapter sends, where, and the operator's own texts.

```toml
[notices]
adapter = "http_sms"                  # or "log" (the default): a JSONL file beside the database
url = "https://sms.example.gov.cn/api/send"
timeout_s = 10
auth_header = "Authorization"         # carries the secret sms_auth (the secrets file), if set
[notices.templates.accepted]
text = "您的纠纷（{case}）已由{node}受理。"
gateway_template = "SMS_100001"       # the gateway's id of its registered template
```

A bad value stops the program with one sentence naming the field (`nodes.config.field_error`).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nodes.notices import settings
from nodes.notices.templates import TEMPLATES, TemplateError, check_text
from protocol.text import N_

HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class TemplateSetting(BaseModel):
    """`[notices.templates.NAME]`: the text (its `{placeholders}` the template's own) and the
    gateway's id of the template registered there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, max_length=500)
    gateway_template: str | None = Field(default=None, min_length=1, max_length=100)


def check_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TemplateError("notices_url", N_(
            'must be the gateway\'s address, such as "https://sms.example.gov.cn/api/send"'))
    if parts.password or parts.username:
        raise TemplateError("notices_url_secret", N_(
            "must not hold a user or password: put the gateway's token in the secrets file as "
            "sms_auth"))
    return value.strip()


class NoticesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    adapter: Literal["log", "http_sms"] = "log"
    url: str | None = None
    timeout_s: float = Field(default=settings.HTTP_TIMEOUT_S, ge=0.5, le=120)
    auth_header: str = "Authorization"
    templates: dict[str, TemplateSetting] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_url(value)

    @field_validator("auth_header")
    @classmethod
    def _header(cls, value: str) -> str:
        if not HEADER.match(value):
            raise TemplateError("notices_header", N_(
                "must be an HTTP header name such as Authorization or X-Api-Key"))
        return value

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: dict[str, TemplateSetting]) -> dict[str, TemplateSetting]:
        for name, setting in value.items():
            if name not in TEMPLATES or setting.text is not None:
                try:
                    check_text(name, setting.text or "")
                except TemplateError as exc:
                    raise TemplateError("notices_template", N_("template {name}: {detail}"),
                                        name=name, detail=exc) from None
        return value

    @model_validator(mode="after")
    def _needs_url(self) -> Self:
        if self.adapter == "http_sms" and self.url is None:
            raise TemplateError("notices_no_url", N_(
                'adapter "http_sms" needs url, the gateway\'s address'))
        return self

    @property
    def texts(self) -> dict[str, str]:
        """The operator's texts by template."""
        return {k: v.text for k, v in self.templates.items() if v.text}

    @property
    def gateway_ids(self) -> dict[str, str]:
        """The gateway's template ids by template."""
        return {k: v.gateway_template for k, v in self.templates.items() if v.gateway_template}
