"""Every message of the dashboard has its Chinese (the default language)."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from server.manage.i18n import catalogue_files

SERVER = Path(__file__).resolve().parents[2] / "server"
METHODS = [
    ("manage/**.py", "python"),
    ("*/dashboard.py", "python"),
    ("overview/**.py", "python"),
    ("templates/manage/**.html", "jinja2"),
]
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "N_": None, "ngettext": (1, 2)}


def dashboard_messages() -> dict[str, str]:
    """Every literal message the dashboard's code and templates ask to translate → where."""
    found = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(SERVER), METHODS, keywords=KEYWORDS, options_map={"templates/manage/**.html": {"extensions": "jinja2.ext.do"}}
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, filename)
    return found


def chinese() -> dict[str, str]:
    translated = {}
    for path in catalogue_files():
        if path.parts[-3] != "zh":
            continue
        with path.open("rb") as po:
            for message in read_po(po):
                if message.id and message.string:
                    key = message.id[0] if isinstance(message.id, tuple) else message.id
                    translated[key] = message.string
    return translated


def test_every_dashboard_message_has_chinese():
    messages = dashboard_messages()
    assert len(messages) > 20
    zh = chinese()
    missing = {text: where for text, where in messages.items() if text not in zh}
    assert missing == {}, f"add these to a translations/zh/LC_MESSAGES/messages.po: {missing}"


def test_the_catalogues_are_valid_and_keep_placeholders():
    for path in catalogue_files():
        with path.open("rb") as po:
            catalog = read_po(po)
        for message in catalog:
            if not message.id or not message.string:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for text in strings:
                for placeholder in __import__("re").findall(r"%\(\w+\)s", ids[0]):
                    assert placeholder in text, f"{path}: {message.id!r} lost {placeholder}"
