"""Broadsheet: a self-hostable research-papers hub.

    from broadsheet import load_settings, make_hub
    hub = make_hub(load_settings())

Importing ``broadsheet`` is cheap: the Hub (and SQLAlchemy behind it) loads on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Hub": "hub",
    "make_hub": "hub",
    "Settings": "config",
    "load_settings": "config",
    "Paper": "types",
    "PaperData": "types",
    "Listing": "types",
    "ListingData": "types",
    "IngestReport": "types",
    "Stats": "types",
    "BroadsheetError": "exceptions",
    "InvalidInputError": "exceptions",
    "NotFoundError": "exceptions",
    "PaperNotFoundError": "exceptions",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from .config import Settings, load_settings  # noqa: F401
    from .exceptions import BroadsheetError, InvalidInputError, NotFoundError, PaperNotFoundError  # noqa: F401
    from .hub import Hub, make_hub  # noqa: F401
    from .types import IngestReport, Listing, ListingData, Paper, PaperData, Stats  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'broadsheet' has no attribute {name!r}")
