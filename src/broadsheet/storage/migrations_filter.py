"""What Alembic's autogenerate compares: everything but the FTS5 table and its shadow tables."""

from __future__ import annotations

from typing import Any

from .schema import FTS_TABLE


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE))
