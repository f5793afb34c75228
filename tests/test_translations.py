"""Russian and Ukrainian translations are complete: every string of the code is translated, none empty or fuzzy."""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("ru", "uk")


def parse_po(path):
    """msgid -> msgstr list (plural forms give several), plus the fuzzy msgids."""
    entries, fuzzy = {}, set()
    text = path.read_text(encoding="utf-8")
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.strip()]
        is_fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        msgctxt, msgid, msgstrs, current = None, None, [], None
        for line in lines:
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+"(.*)"$', line)
            if match:
                current = match.group(1)
                value = match.group(2)
                if current == "msgctxt":
                    msgctxt = value
                elif current == "msgid":
                    msgid = value
                elif current.startswith("msgstr"):
                    msgstrs.append(value)
            elif line.startswith('"') and current:
                value = line.strip()[1:-1]
                if current == "msgid":
                    msgid += value
                elif current.startswith("msgstr"):
                    msgstrs[-1] += value
        if msgid is None or msgid == "":
            continue
        if msgctxt is not None:
            msgid = f"{msgctxt}\x04{msgid}"  # how gettext keys an entry with a context
        entries[msgid] = msgstrs
        if is_fuzzy:
            fuzzy.add(msgid)
    return entries, fuzzy


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_or_fuzzy_translation(language):
    path = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{path} is missing"
    entries, fuzzy = parse_po(path)
    assert entries, "the catalogue is empty"
    empty = [msgid for msgid, msgstrs in entries.items() if not msgstrs or not all(msgstrs)]
    assert not empty, f"{len(empty)} untranslated in {language}: {empty[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {language}: {sorted(fuzzy)[:10]}"
    assert (path.with_suffix(".mo")).exists(), "compile the catalogue: manage.py compilemessages"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_source(language):
    po = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    with po.with_suffix(".mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    entries, _ = parse_po(po)
    stale = [
        msgid for msgid, msgstrs in entries.items()
        if len(msgstrs) == 1 and "\\" not in msgid + msgstrs[0] and catalogue.gettext(msgid) != msgstrs[0]
    ]
    assert not stale, f".mo is stale for {language}: {stale[:5]}; run manage.py compilemessages"


def test_every_string_in_the_code_is_in_the_catalogues(tmp_path):
    """A fresh makemessages run finds no msgid that the committed .po files lack."""
    if not shutil.which("xgettext"):
        if os.environ.get("CI"):
            pytest.fail("gettext is not installed; .ci/run installs it")
        pytest.skip("gettext (xgettext) is not installed")
    work = tmp_path / "src"
    ignore = shutil.ignore_patterns(".venv", ".git", "locale", "staticfiles", "media", "__pycache__", "*.sqlite3")
    shutil.copytree(ROOT, work, ignore=ignore)
    (work / "locale").mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm_site.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ru", "--no-obsolete", "-v", "0"],
        cwd=work, env=env, check=True, capture_output=True,
    )
    fresh, _ = parse_po(work / "locale" / "ru" / "LC_MESSAGES" / "django.po")
    for language in LANGUAGES:
        committed, _ = parse_po(ROOT / "locale" / language / "LC_MESSAGES" / "django.po")
        missing = sorted(set(fresh) - set(committed))
        assert not missing, f"{len(missing)} strings missing from {language}: {missing[:10]}; run make messages"
