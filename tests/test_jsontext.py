"""server.jsontext.parse_json: the standard library's values, read by orjson where that is exact."""
from __future__ import annotations

import json
import math
import random

import pytest

from server.jsontext import parse_json


def same(a, b) -> bool:
    """Equal as JSON values, with types (1 is not 1.0 nor True) and NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


CORPUS = [
    "0", "-0", "-0.0", "0e0", "1E+2", "1.0", "[1e-400]", "1e400", "-1e400", "NaN", "[Infinity,-Infinity]",
    "9223372036854775807", "-9223372036854775808", "18446744073709551615", "18446744073709551616",
    "-9223372036854775809", "123456789012345678901234567890", "0.1000000000000000055511151231257827",
    '{"a":1,"a":2}', '{"b":[true,false,null],"a":{"c":"中文","d":"é\\u4e2d\\n\\t\\"\\\\/"}}',
    '"\\ud83d\\ude00"', '"😀"', "[]", "{}", ' \n\t{"x" : [ 1 , 2 ] } ', '"\\u0000"', '"a\\u001fb"',
    '{"value": 12345678901234567890123, "photos": ["ab"]}',
]


@pytest.mark.parametrize("text", CORPUS)
def test_reads_what_the_standard_library_reads(text):
    expected = json.loads(text)
    assert same(parse_json(text), expected)
    assert same(parse_json(text.encode()), expected)


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**70), 2**70) if rng.random() < 0.2 else rng.randint(-(2**63), 2**64 - 1)
    if kind == 2:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-320, 308)
    if kind == 3:
        return round(rng.uniform(-1000, 1000), rng.randint(0, 6))
    if kind in (4, 5):
        alphabet = "abc 中文隐患😀é\n\t\"\\/\x01\x7f\u2028"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind in (6, 7):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {str(_random_value(rng, 3)): _random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_random_documents_read_as_the_standard_library_reads_them():
    rng = random.Random(20261124)
    for _ in range(3000):
        value = _random_value(rng)
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
            assert same(parse_json(text.encode()), json.loads(text)), text


def test_numbers_keep_their_type_and_every_digit():
    # orjson alone would read these as floats, silently.
    assert parse_json(b"[18446744073709551616, -9223372036854775809]") == [2**64, -(2**63) - 1]
    assert all(type(v) is int for v in parse_json(b"[18446744073709551616, 1, -1]"))
    for text in ("18446744073709551616", "[18446744073709551616]", '{"a":18446744073709551616}', "[1,\t\r\n 18446744073709551616]"):
        assert parse_json(text.encode()) == json.loads(text)  # however the number is placed
    assert parse_json(b'{"sha": "a18446744073709551616", "n": 9223372036854775807}') == {"sha": "a18446744073709551616", "n": 2**63 - 1}
    assert type(parse_json(b"[1.0]")[0]) is float and type(parse_json(b"[true]")[0]) is bool


@pytest.mark.parametrize(
    "text, expected",
    [
        ('"\\ud83d"', "\ufffd"),  # the first half of an emoji, cut off
        ('"note \\ude00 end"', "note \ufffd end"),
        ('"\\ude00\\ud83d"', "\ufffd\ufffd"),  # halves in the wrong order are two lone halves
        ('"\\ud83d\\ude00 ok"', "😀 ok"),  # a pair is one character
        ('{"k\\ud800": ["\\udfff"]}', {"k\ufffd": ["\ufffd"]}),
    ],
)
def test_lone_surrogates_become_replacement_characters(text, expected):
    assert parse_json(text.encode()) == expected
    assert parse_json(text) == expected
    json.dumps(parse_json(text.encode()), ensure_ascii=False).encode("utf-8")  # now text UTF-8 can carry


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"{not json", b"[1,2,]", b'{"a":1,}', b"nul", b'"unterminated', b"\xef\xbb\xbf{}", b'"\xff"', b'"a\x01b"', b"{} {}"],
)
def test_malformed_json_raises_the_standard_librarys_error(data):
    with pytest.raises(json.JSONDecodeError):
        parse_json(data)
