"""The base classes of every request and response body, and the limits they share."""

from __future__ import annotations

from typing import Any, TypeVar

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


ResponseT = TypeVar("ResponseT", bound=ResponseModel)


class _Overlay:
    """A record's attributes with some replaced or added: what ``from_attributes`` reads."""

    __slots__ = ("_fields", "_record")

    def __init__(self, record: object, fields: dict[str, Any]) -> None:
        self._record = record
        self._fields = fields

    def __getattr__(self, name: str) -> Any:
        if name in self._fields:
            return self._fields[name]
        return getattr(self._record, name)


def from_record(model: type[ResponseT], record: object, **fields: Any) -> ResponseT:
    """``model`` validated from ``record``'s attributes of the same names (pydantic's
    ``from_attributes``, nested models included); ``fields`` give the members the record
    names otherwise (``function`` for ``qualified_name``) or does not hold."""
    source = _Overlay(record, fields) if fields else record
    return model.model_validate(source, from_attributes=True)
