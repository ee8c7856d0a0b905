"""Chinese first: every message the code and the templates ask for has its Chinese text (a
missing one shows the English source to a user, or reads it out to a screen reader)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "admin_app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_every_message_asked_for_has_its_chinese_text(tmp_path):
    template = tmp_path / "messages.pot"
    # the same extraction as `make translations` (Makefile), into a scratch file
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "-o", str(template), "--no-location", "--omit-header", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with template.open("rb") as asked, CATALOG.open("rb") as catalog:
        wanted, translated = read_po(asked), read_po(catalog)
    missing = [m.id for m in wanted if m.id and not _has_text(translated.get(m.id))]
    assert missing == [], missing


def _has_text(message) -> bool:
    """A catalog entry with its text (every form of a plural)."""
    if message is None:
        return False
    string = message.string
    return all(string) if isinstance(string, tuple) else bool(string)
