"""JSON answers encoded with orjson: several times faster than the standard library's encoder on
the API's lists of papers (``/api/daily_papers`` is a list of 50 nested objects), and the same
compact UTF-8 text. Keys that are not strings are written as strings (as ``json`` does)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSON


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class JSONResponse(_StarletteJSON):
    """Starlette's ``JSONResponse`` with orjson as the encoder."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


class EncodedJSON(_StarletteJSON):
    """A body encoded once and kept (a cached API answer): sent as it is."""

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else dumps(content)
