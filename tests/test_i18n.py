import gettext
from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parent.parent / "locale"
PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def test_catalogue_is_complete_and_compiled():
    catalogue = polib.pofile(str(PO))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"
    compiled = gettext.GNUTranslations(MO.open("rb"))

    def compiled_text(entry):
        if entry.msgctxt:
            return compiled.pgettext(entry.msgctxt, entry.msgid)
        return compiled.gettext(entry.msgid)

    stale = [e.msgid for e in catalogue.translated_entries() if not e.msgid_plural and compiled_text(e) != e.msgstr]
    assert not stale, f".mo is older than .po (run make messages): {stale[:10]}"


@pytest.mark.django_db
def test_root_is_chinese_even_for_an_english_browser(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="zh-hans"' in html and "揭榜" in html


@pytest.mark.django_db
def test_english_lives_under_en(client):
    html = client.get("/en/").content.decode()
    assert 'lang="en"' in html and "Unveil the list" in html


@pytest.mark.django_db
def test_language_switcher_goes_to_english_and_back(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/en/accounts/login/"
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/en/accounts/login/"})
    assert response["Location"] == "/accounts/login/"
