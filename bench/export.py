"""Benchmark: the score-sheet export (exports.builders.score_sheet) at ~10,000 and ~100,000 rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiebang_xbench .venv/bin/python bench/export.py

Seeding (a child process, once): two calls with 5 criteria and 10 experts each,
164 and 1,640 proposals, every score submitted: 61 rows per proposal
(10 × 5 criterion rows + 10 expert totals + 1 aggregate) = 10,004 and 100,040 rows.

Measured, each in a fresh child process so that every figure has its own peak RSS:
  export — exports.builders.build("score_sheet", …) to a file: database, formatting,
           reproducible zip (best of 2);
  floor  — a bare openpyxl write-only loop appending the same rows, already read
           into Python tuples (naive datetimes), and saving (best of 2; the reading is
           not timed, and its memory is not the export's).
Goals: export ÷ floor ≤ 1.3 at both sizes; the export's peak RSS ≤ 150 MB at both
sizes (exit 2 if missed). Last line: export ratio_10k=<f> ratio_100k=<f> peak_rss_mb=<int>
"""

import json
import os
import sys
import tempfile
import time

from _common import bootstrap, credit_code, ensure_database, peak_rss_mb, run_child, setup_django

bootstrap("jiebang_xbench")

SIZES = {"10k": ("BENCH-EXP-10K", 164), "100k": ("BENCH-EXP-100K", 1640)}
EXPERTS = 10
CRITERIA = 5
GOAL_RATIO = 1.3
GOAL_RSS_MB = 150


def id_number(n: int) -> str:
    from proposals.validators import id_check_character

    first17 = f"15010219700101{n:03d}"
    return first17 + id_check_character(first17)


def seed():
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Organization, User
    from calls.models import Call, Programme, RubricCriterion
    from experts.models import Expert
    from proposals.models import Proposal
    from reviews.models import Assignment, Result, Score, ScoreItem

    call_command("migrate", verbosity=0)
    if Call.objects.filter(code=SIZES["100k"][0]).exists():
        return
    now = timezone.now()
    with transaction.atomic():
        issuer = Organization.objects.create(
            name="基准发榜企业", credit_code=credit_code(1), org_type="enterprise", region="hohhot"
        )
        admin = User.objects.create(username="bench-admin", is_administrator=True)
        programme = Programme.objects.create(name="导出基准专项", year=2025)
        users = User.objects.bulk_create(User(username=f"bench-expert-{i}", is_expert=True) for i in range(EXPERTS))
        experts = Expert.objects.bulk_create(
            Expert(
                user=u,
                name=f"专家{i:02d}号",
                id_number=id_number(i),
                expert_type="technical",
                fields=["energy_storage"],
            )
            for i, u in enumerate(users)
        )
        org_no = 10
        for code, proposals in SIZES.values():
            call = Call.objects.create(
                code=code, title=f"导出基准榜单{code}", programme=programme, issuer=issuer, field="energy_storage",
                background="背景", research_tasks="任务", period_months=36, fiscal_cap=Decimal("500"),
                deadline=now - timedelta(days=30), status="under_review", created_by=admin,
            )  # fmt: skip
            criteria = RubricCriterion.objects.bulk_create(
                RubricCriterion(call=call, order=i, name=f"评审项{i + 1}：技术路线与可行性", max_points=Decimal("20"))
                for i in range(CRITERIA)
            )
            leads = Organization.objects.bulk_create(
                Organization(name=f"揭榜单位{org_no + i}有限公司", credit_code=credit_code(org_no + i),
                             org_type="enterprise", region="hohhot")
                for i in range(proposals)
            )  # fmt: skip
            org_no += proposals
            rows = Proposal.objects.bulk_create(
                Proposal(call=call, lead_organization=o, title=f"揭榜方案{i}：长寿命储能电池研制", status="ranked",
                         created_by=admin, submitted_at=now - timedelta(days=20))
                for i, o in enumerate(leads)
            )  # fmt: skip
            assignments = Assignment.objects.bulk_create(
                Assignment(proposal=p, expert=e) for p in rows for e in experts
            )
            scores = Score.objects.bulk_create(
                (Score(assignment=a, status="submitted", total=Decimal("81.50"), comment="总体可行，建议支持。",
                       submitted_at=now - timedelta(days=5)) for a in assignments),
                batch_size=5000,
            )  # fmt: skip
            ScoreItem.objects.bulk_create(
                (ScoreItem(score=s, criterion=c, points=Decimal("16.30"), comment="论证充分") for s in scores for c in criteria),  # noqa: E501
                batch_size=5000,
            )  # fmt: skip
            Result.objects.bulk_create(
                Result(proposal=p, count=EXPERTS, final=Decimal("81.500000"), method="trimmed_mean", rank=i + 1, passed=True)  # noqa: E501
                for i, p in enumerate(rows)
            )  # fmt: skip


def measure(what: str, size: str) -> dict:
    from django.utils import timezone
    from openpyxl import Workbook

    from exports import builders
    from exports.builders import score_sheet

    params = {"call": SIZES[size][0], "names": True}
    best, rows = None, 0
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "out.xlsx")
        if what == "floor":
            ready = [
                tuple(timezone.localtime(v).replace(tzinfo=None) if hasattr(v, "tzinfo") and v.tzinfo else v for v in r)
                for r in score_sheet.rows(params)
            ]
        for _ in range(2):
            start = time.perf_counter()
            if what == "export":
                rows = builders.build("score_sheet", params, path)
            else:
                book = Workbook(write_only=True)
                sheet = book.create_sheet("评分明细")
                for row in ready:
                    sheet.append(row)
                book.save(path)
                rows = len(ready)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
    rss = peak_rss_mb()
    return {"seconds": best, "rows": rows, "rss_mb": rss}


def child(*args) -> dict:
    result = run_child([sys.executable, __file__, *args])
    if result.returncode:
        sys.exit(1)
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}


def main():
    if "--seed" in sys.argv:
        setup_django()
        seed()
        return
    if "--measure" in sys.argv:
        setup_django()
        what, size = sys.argv[sys.argv.index("--measure") + 1 :][:2]
        print(json.dumps(measure(what, size)))
        return
    ensure_database("bench/export.py")
    start = time.perf_counter()
    child("--seed")
    print(f"seeded in {time.perf_counter() - start:.1f} s")
    ratios, peak = {}, 0
    for size in SIZES:
        export = child("--measure", "export", size)
        floor = child("--measure", "floor", size)
        ratios[size] = export["seconds"] / floor["seconds"]
        peak = max(peak, export["rss_mb"])
        print(
            f"{size}: rows={export['rows']} export={export['seconds']:.2f}s floor={floor['seconds']:.2f}s "
            f"ratio={ratios[size]:.2f} export_rss={export['rss_mb']}MB floor_rss={floor['rss_mb']}MB"
        )
    missed = any(r > GOAL_RATIO for r in ratios.values()) or peak > GOAL_RSS_MB
    print(f"export ratio_10k={ratios['10k']:.2f} ratio_100k={ratios['100k']:.2f} peak_rss_mb={peak}")
    sys.exit(2 if missed else 0)


if __name__ == "__main__":
    main()
