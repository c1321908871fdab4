"""``scaleplan:secrets``: the application's named credentials, never their values.

Each entry becomes one Secrets Manager secret on the ``secrets`` customer-managed key, with
a description and a recovery window; its value is put in out of band
(``aws secretsmanager put-secret-value``), so it is in no stack file, no code and no state.
Names must sit under the application's prefix (``<environment>-app/``), the only names its
role may read.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, model_validator

from infra.config.base import ConfigModel
from infra.config.errors import field_error

SecretName = Annotated[str, Field(pattern=r"^[A-Za-z0-9/_+=.@-]{1,512}$")]
"""Secrets Manager's alphabet for names (``CreateSecret``: ASCII letters, digits and ``/_+=.@-``)."""
Description = Annotated[str, Field(min_length=1, max_length=2048)]

DEFAULT_REFRESH_SECONDS = 3600
"""External Secrets' own default: an hourly re-read of each secret."""

_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an OpenAI or Stripe key", re.compile(r"\b(sk|pk|rk)[-_](live_|test_|proj-)?[A-Za-z0-9]{16,}")),
    ("a Stripe webhook secret", re.compile(r"\bwhsec_[A-Za-z0-9]{16,}")),
    ("a SendGrid key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    ("a Twilio SID or key", re.compile(r"\b(AC|SK)[0-9a-f]{32}\b")),
    ("an AWS access key ID", re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+=]{20,}")


def looks_like_a_secret_value(text: str) -> str | None:
    """What ``text`` seems to hold (``"a SendGrid key"``), or ``None`` when it reads as prose.

    A known credential format, or an unbroken run of 20+ letters mixed with digits (a random
    token: prose words and hyphenated names never look like that), is taken as a value.
    """
    for what, pattern in _VALUE_PATTERNS:
        if pattern.search(text):
            return what
    for token in _LONG_TOKEN.findall(text):
        if re.search(r"[A-Za-z]", token) and re.search(r"[0-9]", token):
            return "a random token"
    return None


class Credential(ConfigModel):
    """One named credential of the application: its Secrets Manager name and what it is for."""

    name: SecretName
    """Full Secrets Manager name, under the application's prefix (``ftw-prod-app/openai``)."""
    description: Description
    """Who issues it and what uses it; shown in the console, never the value."""

    @model_validator(mode="after")
    def _no_value(self) -> Credential:
        for field in ("name", "description"):
            found = looks_like_a_secret_value(getattr(self, field))
            if found is not None:
                raise field_error(
                    field,
                    f"looks like {found}: a stack file names credentials and never holds their values; "
                    "put the value in with `aws secretsmanager put-secret-value` (see README)",
                )
        return self


class SecretsConfig(ConfigModel):
    """The application's credentials, and how long a deleted one stays recoverable."""

    recovery_window_days: Annotated[int, Field(ge=7, le=30)] = 30
    """Days a deleted secret can be restored (Secrets Manager allows 7-30; 0, immediate
    deletion, is refused here)."""
    refresh_interval_seconds: Annotated[int, Field(ge=60, le=86400)] = DEFAULT_REFRESH_SECONDS
    """How often External Secrets re-reads each secret into the application's namespace on EKS:
    a rotated value is there within this time (each read is a priced API call)."""
    credentials: Annotated[list[Credential], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _unique(self) -> SecretsConfig:
        seen: set[str] = set()
        for index, credential in enumerate(self.credentials):
            if credential.name in seen:
                raise field_error(
                    f"credentials.{index}.name", f"names a secret already listed above (got {credential.name!r})"
                )
            seen.add(credential.name)
        return self

    def outside_prefix(self, prefix: str) -> list[tuple[str, str]]:
        """``(path, message)`` for each name not under ``prefix`` (or equal to it)."""
        problems = []
        for index, credential in enumerate(self.credentials):
            if not credential.name.startswith(prefix) or credential.name == prefix:
                problems.append(
                    (
                        f"credentials.{index}.name",
                        f"must start with the application's prefix {prefix!r}, the only names its role may "
                        f"read (got {credential.name!r})",
                    )
                )
        return problems


def credential_key(name: str, prefix: str) -> str:
    """Stable logical-name key of a credential: its name after the prefix (``openai``)."""
    return re.sub(r"[^a-z0-9-]+", "-", name.removeprefix(prefix).lower()).strip("-")
