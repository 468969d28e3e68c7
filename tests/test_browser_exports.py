"""The administrator exports the award list of a finished 赛马制 call in a real browser: the
button on the decisions page → the jobs page, whose progress bar reaches 100 % → the download
is a well-formed workbook. With REDIS_URL set, a real Celery worker builds it."""

import io

import pytest
from openpyxl import load_workbook

from exports.models import ExportJob, ExportStatus
from tests import services as test_services
from tests.test_browser_review import login
from tests.test_exports import AWARD_HEADER, horse_race  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_exports_the_award_list_and_downloads_it(
    live_server,
    page,
    administrator,
    horse_race,  # noqa: F811
    request,
    screenshot_dir,
):
    if test_services.redis_url():
        # Slow enough that the bar is seen moving; the worker reports progress row by row.
        request.getfixturevalue("celery_workers")("browser@%h", EXPORT_TEST_ROW_DELAY="0.3")
    base, code = live_server.url, horse_race.call.code
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    login(page, base, administrator.username)
    page.goto(f"{base}/reviews/calls/{code}/decisions/")
    page.click('[data-testid="export-award_list"] button')
    page.wait_for_url(f"{base}/exports/")
    job = ExportJob.objects.get(kind="award_list", params__call=code)
    bar = f'[data-testid="export-progress-{job.pk}"]'
    page.wait_for_selector(f'{bar}[data-status="done"]', timeout=60_000)
    assert page.get_attribute(f"{bar} progress", "value") == "100"
    page.screenshot(path=str(screenshot_dir / "export-done.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click(f'[data-testid="export-download-{job.pk}"]')
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    data = open(download.path(), "rb").read()  # noqa: SIM115
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and len(data) == job.size
    book = load_workbook(io.BytesIO(data))
    sheet = book["拟立项名单"]
    header = [cell.value for cell in sheet[2]]
    assert header == AWARD_HEADER and sheet.freeze_panes == "A3"
    winners = [row for row in sheet.iter_rows(min_row=3, values_only=True) if row[0] is not None]
    assert len(winners) == 2 and [row[9] for row in winners] == [1, 2]
    assert not errors
