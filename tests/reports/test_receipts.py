"""Receipt codes: 80 random bits, typable, forgiving when read back, stored only as a hash."""
from __future__ import annotations

import hashlib
import re

import pytest

from server.reports import receipts


def test_a_code_is_four_groups_of_crockford_base32():
    code = receipts.new_code()
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", code), code
    assert receipts.LENGTH * 5 >= 80


def test_codes_do_not_repeat():
    codes = {receipts.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    # Every symbol of the alphabet turns up: the bits are spread over all of it.
    assert set("".join(codes).replace("-", "")) == set(receipts.ALPHABET)


@pytest.mark.parametrize(
    "typed",
    ["JB7K-3QXM-9T2C-W4PD", "jb7k3qxm9t2cw4pd", " JB7K 3QXM 9T2C W4PD ", "jb7k-3qxm-9t2c-w4pd", "JB7K_3QXM_9T2C_W4PD"],
)
def test_reading_back_ignores_case_dashes_and_spaces(typed):
    assert receipts.normalise(typed) == "JB7K3QXM9T2CW4PD"
    assert receipts.digest(typed) == hashlib.sha256(b"JB7K3QXM9T2CW4PD").hexdigest()


def test_letters_that_look_like_digits_read_as_the_digits():
    assert receipts.normalise("O1IL-0000-0000-0000") == receipts.normalise("0111-0000-0000-0000")


@pytest.mark.parametrize(
    "typed",
    ["", None, "JB7K-3QXM-9T2C", "JB7K-3QXM-9T2C-W4PDX", "JB7K-3QXM-9T2C-W4PU", "JB7K-3QXM-9T2C-W4P!", "隐患-3QXM-9T2C-W4PD", "J" * 65],
)
def test_anything_else_is_not_a_code(typed):
    assert receipts.normalise(typed) is None
    assert receipts.digest(typed) is None
