"""JSON text on the hot paths: reading request bodies, writing JSON columns and the push's answer.

orjson writes JSON about five times faster than the standard library (Chinese as itself, not
``\\uXXXX`` escapes) and reads it faster too (a push's body ~1.4×, small bodies more). Both
directions keep the standard library's values exactly; where orjson would not (see
:func:`parse_json`, :func:`json_text`), the standard library does the work.
"""
from __future__ import annotations

import json
import re
from typing import Any

import orjson

# A number of 19 digits or more may be an integer orjson cannot hold in 64 bits. It reads one
# as a float without a word (2**64 becomes 1.8446744073709552e19); the standard library keeps
# it exact, so a body with one is read the slow way. A number starts after one of : , [ - or
# white space, unlike a digit run inside a photo's SHA-256 (1 in ~500 has one). Found by
# turning digits into "0" and those characters into "|", then one substring search: ~20 µs
# for a push of 50 checks, where a regular expression takes ~210 µs.
_NUMBER_SHAPE = bytes.maketrans(b"0123456789:,[- \t\n\r", b"0000000000||||||||")
_LONG_NUMBER = b"|" + b"0" * 19
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(data: bytes | str) -> Any:
    """The values of a JSON document, exactly as :func:`json.loads` reads them from UTF-8 —
    except that a lone UTF-16 surrogate in a string becomes U+FFFD (�).

    ``"\\ud83d"`` alone is valid JSON but not text: UTF-8 cannot encode it, so neither SQLite
    nor PostgreSQL can store it, and every use of the string fails. A phone makes one by
    cutting a note between the two halves of an emoji; refusing the body would refuse every
    check of that push, and again on every retry, for half a character. It is replaced
    instead, as browsers replace it (WebIDL's USVString) and as ``errors="replace"`` does.

    Malformed JSON, or bytes that are not UTF-8, raise :class:`json.JSONDecodeError` (a
    :class:`ValueError`), as the standard library does.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if _LONG_NUMBER not in b"|" + raw.translate(_NUMBER_SHAPE):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN, 1e400, a lone surrogate, or broken: the standard library decides
    if not isinstance(data, str):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(f"Bytes decoding error : {exc.reason}", str(exc.object), exc.start) from exc
    return _well_formed(json.loads(data))


def _well_formed(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_well_formed(v) for v in value]
    if isinstance(value, dict):
        return {_well_formed(k): _well_formed(v) for k, v in value.items()}
    return value


def json_text(value: Any) -> str:
    """``value`` as compact JSON text; dict keys that are not strings are written as strings."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        # orjson cannot write an integer wider than 64 bits, which a device may send as a
        # number answer; the standard library can.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
