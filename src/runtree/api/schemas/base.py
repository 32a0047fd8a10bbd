"""The base classes of every request and response body, and the limits they share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """Request bodies: unknown members are errors (a typo must not be ignored silently) and
    values are not coerced from other JSON types (``"30"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseModel(BaseModel):
    """Response bodies: undeclared keys of the underlying documents are dropped."""

    model_config = ConfigDict(extra="ignore")


# Version numbers fit a 32-bit signed integer column (a larger number cannot name a version).
MAX_VERSION = 2**31 - 1


FUNCTION_PATTERN = r"^(\w+/)?\w+$"
