"""The one error hierarchy of the gateway.

Every refusal is a ``GatewayError`` with a stable ``code`` and, for query
errors, a list of ``Issue``s pointing at the offending text. The service turns
any ``GatewayError`` into an RFC 9457 problem document; the CLI prints it and
exits non-zero. Errors may quote the query, never row values or un-noised
numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


class Issue(BaseModel):
    """One thing wrong with a query, located in its text."""

    code: str
    message: str
    line: int | None = None
    column: int | None = None
    start: int | None = Field(default=None, description="0-based offset of the fragment")
    end: int | None = Field(default=None, description="0-based offset just past the fragment")
    highlight: str | None = None
    hint: str | None = None


def field_message(error: ErrorDetails, *, top: str = "(top level)", skip: int = 0) -> str:
    """One of pydantic's errors as ``field.path: what is wrong``, ``top`` when it has no path.

    ``skip`` drops the leading path parts that name an envelope around the model.
    """
    where = ".".join(str(part) for part in error["loc"][skip:]) or top
    return f"{where}: {error['msg']}"


class GatewayError(Exception):
    """Root of every refusal the gateway makes on purpose."""

    status = 400
    title = "Request refused"
    charged = False
    """True when the failure costs the whole ε asked for (see ``ReleaseFailed``)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        issues: list[Issue] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.issues = issues or []

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "issues": [issue.model_dump() for issue in self.issues],
        }


class ConfigError(GatewayError):
    title = "Configuration error"
    status = 500


class SourceError(GatewayError):
    title = "Source database error"


class PolicyError(GatewayError):
    title = "Invalid policy"


class ExtractError(GatewayError):
    title = "Extract error"
    status = 409


class VetError(GatewayError):
    title = "Query rejected"
    status = 422


class EpsilonError(GatewayError):
    """A privacy loss the policy does not allow one submission (``gateway.policy.epsilon``)."""

    title = "Privacy loss not allowed"
    status = 422


class BudgetError(GatewayError):
    """More privacy loss than the project or the platform has left."""

    title = "Privacy budget exceeded"
    status = 403


class DpError(GatewayError):
    title = "Differential privacy error"


class ReleaseFailed(DpError):
    """A query that failed once it may have read data: charged in full, worded the same always.

    Whether a query fails after the extract is opened can depend on the rows
    in it, so the failure itself would be an answer. It therefore costs the
    whole ε asked for (``charged``), and its code, message and hint never vary:
    nothing about the cause leaves, only the operator's log has its kind.
    """

    charged = True
    CODE = "release_failed"

    def __init__(self) -> None:
        super().__init__(
            self.CODE,
            "the query failed after the extract was read; nothing was released and its "
            "privacy budget is spent",
            hint="this does not depend on what you asked; an operator can read the log",
        )


class SandboxError(GatewayError):
    title = "Sandbox error"
    status = 500


class AnalysisError(GatewayError):
    title = "Analysis error"
    status = 422


class ServiceError(GatewayError):
    """A request the service refuses: bad input, or not the caller's to make."""

    title = "Request refused"


class AuthError(ServiceError):
    title = "Not authenticated"
    status = 401


class ForbiddenError(ServiceError):
    title = "Not allowed"
    status = 403


class NotFoundError(ServiceError):
    title = "Not found"
    status = 404


class ConflictError(ServiceError):
    title = "Conflict"
    status = 409


class BackupError(GatewayError):
    title = "Backup refused"
    status = 409
