"""Seed a large data set on PostgreSQL: 200 calls, 10,000 proposals, 1,000 experts, 50,000 scores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiebang_large .venv/bin/python bench/seed_large.py [--reset]

The database is created if missing and migrated. A database that already holds the seed is left
alone ("already seeded", exit 0); --reset drops and recreates it first (WITH (FORCE): other
sessions on it are ended). Everything is written in one transaction, so a failed run leaves no
half seed behind, then ANALYZEd.

What it holds (deterministic, random.Random(SEED)):
  organisations: 40 issuers, 3,000 in-region lead units, 600 in-region research units and 400
    out-of-region units (consortium members), 300 expert employers, 5 blacklisted units;
  users: an administrator (bench-admin) and a supervisor, one user per issuer, lead and member unit,
    one per expert; every password is BENCH_PASSWORD (one Argon2 hash, computed once);
  12 programmes (6 programmes × 2 years) and 200 calls in every status (draft, pending, published,
    closed, under review, in notice, awarded, failed, withdrawn), each with 3–5 targets and the
    default 5-criterion rubric, some with a co-issuer or 赛马制;
  10,000 proposals over the 184 calls that take bids, in the statuses their call allows, each as the
    services would leave it: lead + 0–3 member units (in-region share ≥ 60 %, confirmed), PI + core
    members (distinct people, so no application limit is broken), a commitment meeting every target,
    3 milestones, a budget by source and category (fiscal ≤ cap, self-raised ≥ 2 × fiscal), the
    required PDF attachments (one placeholder file under PRIVATE_MEDIA_ROOT), and for every submitted
    one its Submission (snapshot built by proposals.snapshot from the rows) and a passing evaluation;
  1,000 experts with employers (some former), fields, avoid-lists; conflicts computed by
    experts.avoidance.sync over the submitted proposals (the real rules);
  for the 126 calls in review or later: a verifiable draw (reviews.draw: commitment, pool hash, HMAC
    ranking), invitations (panel of 7–9 plus backups, some declines), panel assignments without
    blocked pairs, exactly 50,000 score sheets (submitted, or drafts in calls still under review) with
    their criterion items; results ranked by reviews.aggregation, winners, notices.

Rows are written with COPY (ids assigned here, sequences reset afterwards). No audit entry is
written: the chain stays empty and `manage.py verify_audit` passes (checked at the end).
Prints the time of each stage, the row counts and the total.
"""

import gc
import hashlib
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

from _common import bootstrap, credit_code, ensure_database, setup_django

# DEBUG=1: the development key is enough for writing rows.
bootstrap("jiebang_large", PRIVATE_MEDIA_ROOT=str(Path(tempfile.gettempdir()) / "jiebang_large_private"))

SEED = 20251109
BENCH_PASSWORD = "bench-Passw0rd-2025"
MARKER = "大数据基准"  # in the description of every seeded programme
N_CALLS = 200
N_PROPOSALS = 10_000
N_EXPERTS = 1_000
N_SCORES = 50_000
N_ISSUERS, N_LEADS, N_RESEARCH, N_OUTSIDE, N_EMPLOYERS = 40, 3_000, 600, 400, 300
PLACEHOLDER_PDF = "bench/placeholder.pdf"

# Call statuses in the order the 200 calls get them, with how many.
CALL_PLAN = [
    ("draft", 8),
    ("pending", 4),
    ("withdrawn", 4),
    ("published", 36),
    ("closed", 22),
    ("under_review", 74),
    ("in_notice", 14),
    ("awarded", 28),
    ("failed", 10),
]
REVIEW_STAGES = {"under_review", "in_notice", "awarded", "failed"}
NO_BIDS = {"draft", "pending", "withdrawn"}
# Proposal statuses by call status, as (status, weight).
PROPOSAL_MIX = {
    "published": [("draft", 55), ("submitted", 40), ("withdrawn", 5)],
    "closed": [("submitted", 35), ("passed", 45), ("returned", 10), ("rejected", 7), ("withdrawn", 3)],
    "under_review": [("under_review", 92), ("rejected", 5), ("withdrawn", 3)],
    "in_notice": [("ranked", 95), ("rejected", 5)],
    "awarded": [("not_awarded", 95), ("rejected", 5)],
    "failed": [("not_awarded", 95), ("rejected", 5)],
}
REVIEWED = {"under_review", "ranked", "recommended", "awarded", "not_awarded"}

REGION_CODES = {
    "hohhot": "150100",
    "baotou": "150200",
    "wuhai": "150300",
    "chifeng": "150400",
    "tongliao": "150500",
    "ordos": "150600",
    "hulunbuir": "150700",
    "bayannur": "150800",
    "ulanqab": "150900",
    "hinggan": "152200",
    "xilingol": "152500",
    "alxa": "152900",
}
CITY = {
    "hohhot": "呼和浩特",
    "baotou": "包头",
    "wuhai": "乌海",
    "chifeng": "赤峰",
    "tongliao": "通辽",
    "ordos": "鄂尔多斯",
    "hulunbuir": "呼伦贝尔",
    "bayannur": "巴彦淖尔",
    "ulanqab": "乌兰察布",
    "hinggan": "兴安盟",
    "xilingol": "锡林郭勒",
    "alxa": "阿拉善",
}
PROVINCE_CODES = {"北京市": "110108", "江苏省": "320102", "上海市": "310104", "辽宁省": "210102", "陕西省": "610103"}
BRANDS = [
    "恒能",
    "金穗",
    "瑞丰",
    "华晟",
    "北疆",
    "蒙草",
    "天骄",
    "草原",
    "中科",
    "新源",
    "长河",
    "远景",
    "晨光",
    "博越",
    "泰和",
    "嘉禾",
    "鑫达",
    "绿能",
    "青城",
    "鹿城",
]
INDUSTRIES = [
    "储能科技",
    "新材料",
    "生物技术",
    "能源",
    "农牧业科技",
    "装备制造",
    "环保科技",
    "数字科技",
    "化工",
    "乳业",
    "种业",
    "电力",
]
SURNAMES = list(
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红志国建文辉宇鹏飞晓海波斌春雪梅琳云龙凤林峰")
TITLES = ["研究员", "副研究员", "教授", "副教授", "正高级工程师", "高级工程师", "工程师", "高级农艺师"]

# Programmes (calls.demo names) and the fields of their calls.
PROGRAMMES = {
    "新型储能突围工程": ["energy_storage", "new_energy"],
    "稀土新材料突围工程": ["rare_earth", "equipment"],
    "种业突围工程": ["seed", "grassland"],
    "乳业振兴专项": ["dairy", "biomedicine"],
    "生态环保与防沙治沙专项": ["ecology", "digital"],
    "煤炭清洁高效利用专项": ["clean_coal", "coal_chemical"],
}
TOPICS = {
    "energy_storage": ["百兆瓦时级构网型储能系统", "宽温域钠离子电池储能装备", "全钒液流电池长时储能", "压缩空气储能"],
    "new_energy": ["大功率风电机组智能运维", "高效光伏组件与沙漠电站", "绿氢制储运一体化", "源网荷储协同调控"],
    "rare_earth": ["高性能烧结钕铁硼磁体", "稀土储氢合金固态储氢装置", "稀土抛光材料", "稀土发光材料"],
    "equipment": ["大型矿用电动轮自卸车", "高端数控机床关键部件", "智能化采煤装备", "风电主轴轴承"],
    "seed": ["耐密宜机收玉米新品种", "抗寒高产苜蓿新品种", "马铃薯脱毒种薯繁育", "高油酸向日葵新品种"],
    "grassland": ["退化草原生态修复", "乡土草种快速建植", "优质饲草高效生产", "草原有害生物绿色防控"],
    "dairy": ["乳铁蛋白分离纯化", "高产奶牛精准饲喂", "婴幼儿配方乳粉关键技术", "乳品质量安全快速检测"],
    "biomedicine": ["蒙药经典名方二次开发", "动物疫苗新型佐剂", "益生菌菌株筛选与产业化", "生物发酵制品"],
    "ecology": ["科尔沁沙地风沙防护", "黄河几字弯生态修复", "矿区土地复垦", "盐碱地综合治理"],
    "digital": ["草原生态遥感监测平台", "工业互联网标识解析", "智慧牧场物联网", "算力网络调度"],
    "clean_coal": ["煤电机组熔盐储热深度调峰", "煤炭分级分质利用", "燃煤电厂碳捕集", "煤矸石综合利用"],
    "coal_chemical": ["煤制烯烃新型催化剂", "煤化工废水近零排放", "煤基高端碳材料", "绿氢耦合煤化工"],
}
SUFFIXES = ["关键技术研发与示范", "研制与产业化", "技术攻关与工程示范", "集成创新与应用"]
TARGETS = [
    ("能量转换效率", ">=", "85", "%"),
    ("循环寿命", ">=", "8000", "次"),
    ("单位成本", "<=", "0.8", "元/Wh"),
    ("示范规模", ">=", "100", "MWh"),
    ("申请发明专利", ">=", "5", "项"),
    ("制定标准", ">=", "1", "项"),
    ("培养技术骨干", ">=", "10", "人"),
    ("产品良品率", ">=", "95", "%"),
    ("单位能耗", "<=", "1.2", "吨标煤/吨"),
    ("新增产值", ">=", "5000", "万元"),
]
SENTENCES = [
    "围绕榜单提出的关键技术瓶颈，联合体按照“机理研究—关键技术—中试验证—工程示范”的路线组织攻关。",
    "牵头单位具备完整的中试条件和示范场景，参与单位在基础研究和检测评价方面形成互补。",
    "项目设置三个课题，分别承担材料与工艺、装备与系统集成、示范应用与评价任务。",
    "通过多轮迭代优化关键工艺参数，建立过程质量控制体系，确保考核指标稳定达到。",
    "依托区内产业基础开展示范应用，形成可复制推广的技术方案和标准规范。",
    "在实施过程中引入第三方检测机构，对阶段成果和最终指标进行独立测试。",
]
RISKS = [
    "关键设备交付周期存在不确定性，已与两家供应商签订框架协议。",
    "示范现场受季节影响较大，拟合理安排试验窗口并预留备用场地。",
    "部分指标验证周期较长，拟采用加速试验与实证数据相结合的方法评估。",
]
PHASES = [
    "完成方案设计与关键参数实验室验证",
    "取得阶段性成果，形成中期研究报告",
    "完成中试或示范应用，全部指标达到承诺值",
]
CHECKS = ["阶段研究报告，专家组会议评审", "中期考核，现场查验实验数据和样品", "第三方检测报告及专家组现场验收"]
FISCAL_SPLIT = (("equipment", 30), ("operating", 45), ("labour", 15), ("indirect", 10))
SELF_SPLIT = (("equipment", 50), ("operating", 35), ("labour", 10), ("indirect", 5))
ATTACHMENT_NAMES = {
    "integrity_pledge": "科研诚信承诺书.pdf",
    "matching_funds": "自筹资金承诺函.pdf",
    "consortium_agreement": "联合体协议.pdf",
}
COMMENTS = [
    "技术路线清晰，可行性论证充分",
    "考核指标响应完整，验证方式明确",
    "团队结构合理，前期基础扎实",
    "预算编制基本合理",
]
CENT = Decimal("0.01")


def is_seeded() -> bool:
    from calls.models import Programme

    return Programme.objects.filter(description__contains=MARKER).exists()


# --- helpers ------------------------------------------------------------------------------------
def id_number(n: int, region_code: str) -> str:
    """A valid resident ID number, distinct for each n (birth day and sequence from n)."""
    from proposals.validators import id_check_character

    born = date(1958, 1, 1) + timedelta(days=n // 1000)
    first17 = f"{region_code}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_character(first17)


class Ids:
    """Primary keys handed out here, so rows can be COPYed with their foreign keys."""

    def __init__(self):
        self._counters = defaultdict(lambda: itertools.count(1))

    def __call__(self, model) -> int:
        return next(self._counters[model])


def copy_rows(model, objects) -> int:
    """COPY model instances (ids set) into the model's table; returns how many."""
    from django.core.serializers.json import DjangoJSONEncoder
    from django.db import connection
    from django.db.models import JSONField

    fields = model._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    now = datetime.now().astimezone()
    converters = []
    for f in fields:
        if isinstance(f, JSONField):
            converters.append(lambda v: None if v is None else json.dumps(v, cls=DjangoJSONEncoder, ensure_ascii=False))
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            converters.append(lambda v: now if v is None else v)
        else:
            converters.append(None)
    attnames = [f.attname for f in fields]
    pairs = list(zip(attnames, converters, strict=True))
    count = 0
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            values = obj.__dict__
            copy.write_row([values[a] if c is None else c(values[a]) for a, c in pairs])
            count += 1
    return count


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def pick(rng, mix):
    return rng.choices([s for s, _w in mix], weights=[w for _s, w in mix])[0]


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def committed_value(target_value: Decimal, comparator: str, k: int) -> Decimal:
    """A value meeting the target with a margin of 5–15 %."""
    if comparator == "=":
        return target_value
    factor = Decimal("0.05") * (1 + k % 3)
    if comparator == ">=":
        value = target_value * (1 + factor)
        if target_value < 100 <= value and target_value > 1:  # shares stay at or below 100 %
            value = Decimal(100)
        return value.quantize(CENT, rounding=ROUND_CEILING)
    return (target_value * (1 - factor)).quantize(CENT, rounding=ROUND_FLOOR)


# --- seeding ------------------------------------------------------------------------------------
class Seeder:
    def __init__(self):
        from django.contrib.auth.hashers import make_password
        from django.utils import timezone

        self.rng = random.Random(SEED)
        self.ids = Ids()
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.year = self.today.year
        self.password = make_password(BENCH_PASSWORD)
        self.counts = {}
        self.timings = []
        self.org_no = itertools.count(1)
        self.person_no = itertools.count(1)
        self._stage_start = time.perf_counter()

    def stage(self, name: str) -> None:
        now = time.perf_counter()
        self.timings.append((name, now - self._stage_start))
        self._stage_start = now

    def copy(self, model, objects) -> list:
        objects = list(objects)
        n = copy_rows(model, objects)
        self.counts[model._meta.label] = self.counts.get(model._meta.label, 0) + n
        return objects

    def name(self) -> str:
        rng = self.rng
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))

    # organisations and users -------------------------------------------------------------------
    def organization(self, name, org_type, region, *, province="", prefix="91", **extra):
        from accounts.models import Organization

        code = REGION_CODES.get(region) or PROVINCE_CODES[province]
        return Organization(
            id=self.ids(Organization),
            name=name,
            credit_code=credit_code(next(self.org_no) + 100_000, code, prefix),
            org_type=org_type,
            region=region,
            province=province,
            created_at=self.now - timedelta(days=self.rng.randint(400, 1500)),
            updated_at=self.now - timedelta(days=self.rng.randint(1, 400)),
            **extra,
        )

    def user(self, username, *, organization=None, display_name="", **roles):
        from accounts.models import User

        return User(
            id=self.ids(User),
            username=username,
            password=self.password,
            display_name=display_name or self.name(),
            email=f"{username}@bench.jiebang.local",
            organization_id=organization.pk if organization else None,
            date_joined=self.now - timedelta(days=self.rng.randint(100, 1200)),
            **roles,
        )

    def seed_organizations(self):
        from accounts.models import Organization, User

        rng = self.rng
        regions = list(REGION_CODES)
        issuers = [
            self.organization(f"{CITY[r]}{rng.choice(BRANDS)}{rng.choice(INDUSTRIES)}集团有限公司", "enterprise", r)
            for r in (rng.choice(regions) for _ in range(N_ISSUERS))
        ]
        leads = []
        for n in range(N_LEADS):
            region = regions[n % len(regions)]
            kind = rng.choices(["enterprise", "university", "institute", "new_rnd"], [60, 10, 15, 15])[0]
            name = {
                "enterprise": f"{CITY[region]}{rng.choice(BRANDS)}{rng.choice(INDUSTRIES)}有限公司",
                "university": f"内蒙古{rng.choice(BRANDS)}科技学院",
                "institute": f"{CITY[region]}{rng.choice(INDUSTRIES)}研究所",
                "new_rnd": f"{CITY[region]}{rng.choice(INDUSTRIES)}产业技术研究院",
            }[kind]
            prefix = {"enterprise": "91", "new_rnd": "52"}.get(kind, "12")
            leads.append(self.organization(name, kind, region, prefix=prefix))
        research = [
            self.organization(
                f"内蒙古{rng.choice(BRANDS)}{rng.choice(['大学', '农业大学', '科学院', '工程技术研究院'])}（{n}）",
                rng.choice(["university", "institute"]),
                rng.choice(regions),
                prefix="12",
            )
            for n in range(N_RESEARCH)
        ]
        outside = []
        for n in range(N_OUTSIDE):
            province = rng.choice(list(PROVINCE_CODES))
            outside.append(
                self.organization(
                    f"{province[:2]}{rng.choice(BRANDS)}{rng.choice(['大学', '研究院', '科技股份有限公司'])}（{n}）",
                    rng.choice(["university", "institute", "enterprise"]),
                    "out",
                    province=province,
                )
            )
        employers = [
            self.organization(
                f"{CITY[r]}{rng.choice(['发展研究中心', '科技服务中心', '质量检测院'])}（{n}）", "other", r
            )
            for n, r in enumerate(rng.choice(regions) for _ in range(N_EMPLOYERS))
        ]
        blacklisted = [
            self.organization(
                f"{CITY[r]}{rng.choice(BRANDS)}失信示例有限公司",
                "enterprise",
                r,
                credit_status="blacklisted",
                blacklist_reason="科研诚信严重失信行为记录（基准数据）",
                blacklisted_on=self.today - timedelta(days=300),
            )
            for r in regions[:5]
        ]
        self.copy(Organization, issuers + leads + research + outside + employers + blacklisted)
        self.issuers, self.leads, self.research, self.outside, self.employers = (
            issuers,
            leads,
            research,
            outside,
            employers,
        )
        self.admin = self.user("bench-admin", display_name="基准管理员", is_administrator=True, is_staff=True)
        users = [self.admin, self.user("bench-supervisor", display_name="基准纪检", is_supervisor=True)]
        self.issuer_user = {}
        for n, org in enumerate(issuers):
            self.issuer_user[org.pk] = self.user(f"bench-issuer-{n:03d}", organization=org, is_issuer=True)
        self.applicant_user = {}
        for n, org in enumerate(leads + research + outside):
            self.applicant_user[org.pk] = self.user(f"bench-applicant-{n:04d}", organization=org, is_applicant=True)
        users += list(self.issuer_user.values()) + list(self.applicant_user.values())
        self.copy(User, users)
        self.stage("organisations and users")

    # programmes and calls -------------------------------------------------------------------
    def seed_calls(self):
        from calls.models import Call, Programme, RubricCriterion, Target
        from calls.rubric import DEFAULT_TEMPLATE

        rng = self.rng
        programmes = []
        for year in (self.year - 1, self.year):
            for name in PROGRAMMES:
                programmes.append(
                    Programme(
                        id=self.ids(Programme),
                        name=name,
                        year=year,
                        description=f"{name}（{MARKER}数据）",
                        in_region_institute_required=name == "种业突围工程",
                    )
                )
        self.copy(Programme, programmes)
        self.programmes = {p.pk: p for p in programmes}
        statuses = [s for s, n in CALL_PLAN for _ in range(n)]
        assert len(statuses) == N_CALLS
        calls, targets, criteria, co_issuers = [], [], [], []
        Through = Call.co_issuers.through
        for n, status in enumerate(statuses):
            past = status in ("awarded", "failed") or (status == "withdrawn" and n % 2)
            programme = programmes[(n % 6) + (0 if past else 6)]
            field = rng.choice(PROGRAMMES[programme.name])
            deadline_days = {
                "draft": 60,
                "pending": 45,
                "withdrawn": -30,
                "published": rng.randint(3, 60),
                "closed": -rng.randint(1, 20),
                "under_review": -rng.randint(20, 60),
                "in_notice": -rng.randint(60, 90),
                "awarded": -rng.randint(120, 400),
                "failed": -rng.randint(120, 400),
            }[status]
            deadline = (self.now + timedelta(days=deadline_days)).replace(hour=17, minute=0, second=0, microsecond=0)
            horse = n % 7 == 3
            cap = Decimal(rng.choice([300, 500, 800, 1000, 1500]))
            issuer = rng.choice(self.issuers)
            published = status not in ("draft", "pending") and not (status == "withdrawn" and not past)
            call = Call(
                id=self.ids(Call),
                code=f"JB-{programme.year}-L{n + 1:03d}",
                title=f"{rng.choice(TOPICS[field])}{rng.choice(SUFFIXES)}",
                programme_id=programme.pk,
                issuer_id=issuer.pk,
                field=field,
                keywords="，".join(rng.sample(TOPICS[field], 2)),
                background="".join(rng.sample(SENTENCES, 3)),
                research_tasks="\n".join(f"{i + 1}. {t}" for i, t in enumerate(rng.sample(TOPICS[field], 3))),
                period_months=rng.choice([24, 30, 36]),
                fiscal_cap=cap,
                issuer_contribution=cap * rng.choice([1, 2, 3]),
                support_mode="horse_race" if horse else "single",
                max_winners=2 if horse else 1,
                bidder_conditions="牵头单位须为在自治区内注册的独立法人单位，具备相应研发条件。",
                ip_terms="项目形成的知识产权由发榜方与揭榜方按任务书约定共享。",
                deadline=deadline,
                contact_name=self.name(),
                contact_phone=f"0471-65{rng.randint(10000, 99999)}",
                status=status,
                created_by_id=self.issuer_user[issuer.pk].pk,
                created_at=deadline - timedelta(days=90),
                updated_at=deadline - timedelta(days=30),
                submitted_at=None if status == "draft" else deadline - timedelta(days=80),
                published_at=deadline - timedelta(days=rng.randint(30, 60)) if published else None,
                closed_at=deadline if status in REVIEW_STAGES | {"closed"} else None,
                rubric_bands=[],
            )
            calls.append(call)
            for order, (name, comparator, value, unit) in enumerate(rng.sample(TARGETS, rng.randint(3, 5))):
                targets.append(
                    Target(
                        id=self.ids(Target),
                        call_id=call.pk,
                        order=order,
                        name=name,
                        comparator=comparator,
                        value=Decimal(value),
                        unit=unit,
                    )
                )
            for order, item in enumerate(DEFAULT_TEMPLATE):
                criteria.append(
                    RubricCriterion(
                        id=self.ids(RubricCriterion),
                        call_id=call.pk,
                        order=order,
                        name=item["name"],
                        max_points=Decimal(item["max_points"]),
                    )
                )
            if n % 5 == 0:
                other = rng.choice([o for o in self.issuers if o.pk != issuer.pk])
                co_issuers.append(Through(id=self.ids(Through), call_id=call.pk, organization_id=other.pk))
        self.calls = self.copy(Call, calls)
        self.copy(Through, co_issuers)
        self.targets = defaultdict(list)
        for t in self.copy(Target, targets):
            self.targets[t.call_id].append(t)
        self.criteria = defaultdict(list)
        for c in self.copy(RubricCriterion, criteria):
            self.criteria[c.call_id].append(c)
        self.issuers_of = defaultdict(set)
        for call in calls:
            self.issuers_of[call.pk].add(call.issuer_id)
        for row in co_issuers:
            self.issuers_of[row.call_id].add(row.organization_id)
        self.stage("programmes and calls")

    # proposals ----------------------------------------------------------------------------------
    def call_sizes(self) -> dict[int, int]:
        """Proposals per call: more in calls under review or later (they carry the scores)."""
        rng = self.rng
        weights = {}
        for call in self.calls:
            if call.status in NO_BIDS:
                continue
            base = 1.25 if call.status in REVIEW_STAGES else 0.7
            weights[call.pk] = base * rng.lognormvariate(0, 0.35)
        scale = N_PROPOSALS / sum(weights.values())
        sizes = {pk: max(5, round(w * scale)) for pk, w in weights.items()}
        keys = sorted(sizes, key=lambda pk: -sizes[pk])
        i = 0
        while sum(sizes.values()) != N_PROPOSALS:  # land exactly on N_PROPOSALS
            step = 1 if sum(sizes.values()) < N_PROPOSALS else -1
            sizes[keys[i % len(keys)]] += step
            i += 1
        return sizes

    def seed_proposals(self):
        from proposals import eligibility
        from proposals.models import (
            Attachment,
            BudgetLine,
            Milestone,
            Person,
            Proposal,
            ProposalUnit,
            TargetCommitment,
            TeamMember,
        )

        rng = self.rng
        passing = [{"rule": code, "ok": True, "problems": []} for code, _check in eligibility.RULES]
        pdf = Path(os.environ["PRIVATE_MEDIA_ROOT"]) / PLACEHOLDER_PDF
        pdf.parent.mkdir(parents=True, exist_ok=True)
        pdf_bytes = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"
        pdf.write_bytes(pdf_bytes)
        pdf_sha = hashlib.sha256(pdf_bytes).hexdigest()
        proposals, units, people, team, commitments, milestones, budget, attachments = ([] for _ in range(8))
        self.proposals_of = defaultdict(list)
        research_in = self.research
        for call in self.calls:
            if call.status in NO_BIDS:
                continue
            programme = self.programmes[call.programme_id]
            size = self.sizes[call.pk]
            mix = PROPOSAL_MIX[call.status]
            for lead in rng.sample(self.leads, size):
                status = pick(rng, mix)
                lead_user = self.applicant_user[lead.pk]
                submitted = status != "draft"
                submitted_at = call.deadline - timedelta(hours=rng.uniform(1, 24 * 20)) if submitted else None
                created = (submitted_at or self.now) - timedelta(days=rng.randint(3, 30))
                reviewed = submitted and status not in ("submitted", "withdrawn")
                proposal = Proposal(
                    id=self.ids(Proposal),
                    call_id=call.pk,
                    lead_organization_id=lead.pk,
                    title=f"{call.title}揭榜方案（{lead.name}）"[:200],
                    summary=rng.choice(SENTENCES),
                    technical_route="".join(rng.sample(SENTENCES, 4)),
                    risks="".join(rng.sample(RISKS, 2)),
                    status=status,
                    eligible=True if submitted else None,
                    eligibility=passing if submitted else [],
                    review_reason={
                        "returned": "自筹资金承诺函未加盖牵头单位公章，请补正后在截止时间前重新提交。",
                        "rejected": "揭榜方案与榜单任务不符，不予通过形式审查。",
                    }.get(status, ""),
                    created_by_id=lead_user.pk,
                    created_at=created,
                    updated_at=(submitted_at or created) + timedelta(days=1 if reviewed else 0, hours=1),
                    submitted_at=submitted_at,
                    reviewed_at=submitted_at + timedelta(days=3) if reviewed else None,
                )
                proposals.append(proposal)
                self.proposals_of[call.pk].append(proposal)
                # Consortium: lead + 0–3 members, in-region share ≥ 60 %, an in-region research unit first.
                n_members = rng.choices([0, 1, 2, 3], [25, 40, 25, 10])[0]
                if programme.in_region_institute_required and lead.org_type == "enterprise":
                    n_members = max(n_members, 1)
                members = rng.sample(research_in, n_members)
                if n_members >= 2 and rng.random() < 0.5:
                    members[-1] = rng.choice(self.outside)
                fiscal = money(call.fiscal_cap * Decimal(rng.uniform(0.4, 0.95)))
                if call.support_mode == "horse_race":
                    fiscal = money(min(fiscal, call.fiscal_cap / 2))
                raised = money(fiscal * Decimal(rng.uniform(2.05, 3.0)))
                total = fiscal + raised
                shares = [money(total * Decimal(rng.uniform(0.1, 0.25))) for _ in members]
                unit_rows = []
                lead_unit = ProposalUnit(
                    id=self.ids(ProposalUnit),
                    proposal_id=proposal.pk,
                    organization_id=lead.pk,
                    role="lead",
                    task_share="总体设计、关键技术攻关与示范应用",
                    budget_share=total - sum(shares, Decimal(0)),
                    confirmed_at=created,
                    confirmed_by_id=lead_user.pk,
                )
                unit_rows.append(lead_unit)
                for org, share in zip(members, shares, strict=True):
                    confirmed = submitted or rng.random() < 0.7
                    unit_rows.append(
                        ProposalUnit(
                            id=self.ids(ProposalUnit),
                            proposal_id=proposal.pk,
                            organization_id=org.pk,
                            role="member",
                            task_share=rng.choice(["机理研究与检测评价", "关键材料研制", "系统集成与测试"]),
                            budget_share=share,
                            confirmed_at=created + timedelta(days=1) if confirmed else None,
                            confirmed_by_id=self.applicant_user[org.pk].pk if confirmed else None,
                        )
                    )
                units += unit_rows
                # Team: PI and two core members at the lead, others at the units; distinct people.
                for i in range(rng.randint(3, 6)):
                    unit = lead_unit if i < 3 else rng.choice(unit_rows)
                    org_region = next(
                        o.region for o in (lead, *members) if o.pk == unit.organization_id
                    )  # the unit's league for the ID prefix
                    person = Person(
                        id=self.ids(Person),
                        id_number=id_number(next(self.person_no), REGION_CODES.get(org_region, "110108")),
                        name=self.name(),
                    )
                    people.append(person)
                    role = "pi" if i == 0 else "core" if i < 3 else "member"
                    team.append(
                        TeamMember(
                            id=self.ids(TeamMember),
                            proposal_id=proposal.pk,
                            person_id=person.pk,
                            unit_id=unit.pk,
                            role=role,
                            title=rng.choice(TITLES),
                            duty=rng.choice(["总体负责", "关键技术攻关", "工艺开发", "测试评价", "示范应用"]),
                            months_per_year=Decimal({"pi": 10, "core": 8}.get(role, rng.choice([4, 6]))).quantize(
                                Decimal("0.1")
                            ),
                        )
                    )
                if status == "draft" and rng.random() < 0.3:
                    continue  # a draft still being written: no targets, milestones, budget or files yet
                for k, target in enumerate(self.targets[call.pk]):
                    commitments.append(
                        TargetCommitment(
                            id=self.ids(TargetCommitment),
                            proposal_id=proposal.pk,
                            target_id=target.pk,
                            value=committed_value(target.value, target.comparator, k + proposal.pk).quantize(
                                Decimal("0.0001")  # the column's scale, as the database gives it back
                            ),
                            note="分阶段攻关，验收时由第三方检测机构检测确认",
                        )
                    )
                for i, (phase, check) in enumerate(zip(PHASES, CHECKS, strict=True)):
                    milestones.append(
                        Milestone(
                            id=self.ids(Milestone),
                            proposal_id=proposal.pk,
                            month=round(call.period_months * (i + 1) / 3),
                            deliverable=phase,
                            verification=check,
                        )
                    )
                for source, amount, split in (("fiscal", fiscal, FISCAL_SPLIT), ("self", raised, SELF_SPLIT)):
                    left = amount
                    for i, (category, percent) in enumerate(split):
                        part = left if i == len(split) - 1 else money(amount * percent / 100)
                        left -= part
                        budget.append(
                            BudgetLine(
                                id=self.ids(BudgetLine),
                                proposal_id=proposal.pk,
                                source=source,
                                category=category,
                                amount=part,
                            )
                        )
                kinds = ["integrity_pledge", "matching_funds"] + (["consortium_agreement"] if members else [])
                for kind in kinds:
                    attachments.append(
                        Attachment(
                            id=self.ids(Attachment),
                            proposal_id=proposal.pk,
                            kind=kind,
                            file=PLACEHOLDER_PDF,
                            original_name=ATTACHMENT_NAMES[kind],
                            size=len(pdf_bytes),
                            sha256=pdf_sha,
                            uploaded_by_id=lead_user.pk,
                            uploaded_at=created + timedelta(days=2),
                        )
                    )
        self.proposals = self.copy(Proposal, proposals)
        self.copy(ProposalUnit, units)
        self.copy(Person, people)
        self.copy(TeamMember, team)
        self.copy(TargetCommitment, commitments)
        self.copy(Milestone, milestones)
        self.copy(BudgetLine, budget)
        self.copy(Attachment, attachments)
        self.people = people
        self.content = {"units": units, "team": team, "commitments": commitments, "milestones": milestones}
        self.content |= {"budget_lines": budget, "attachments": attachments}
        self.stage("proposals and their content")

    def seed_submissions(self):
        """The frozen snapshot of every submitted proposal, by proposals.snapshot.build_snapshot.

        The rows are still in memory: each proposal gets them as its prefetched relations (in the
        models' orderings), so no query is needed; a sample is checked against the same proposals
        loaded from the database with Proposal.objects.with_content().
        """
        from accounts.models import Organization
        from proposals.models import Proposal, Submission
        from proposals.snapshot import build_snapshot, freeze

        orgs = {o.pk: o for o in Organization.objects.all()}
        people = {p.pk: p for p in self.people}
        targets = {t.pk: t for ts in self.targets.values() for t in ts}
        units = {u.pk: u for u in self.content["units"]}
        for unit in units.values():
            unit.organization = orgs[unit.organization_id]
        for member in self.content["team"]:
            member.person, member.unit = people[member.person_id], units[member.unit_id]
        for commitment in self.content["commitments"]:
            commitment.target = targets[commitment.target_id]
        related = {name: defaultdict(list) for name in self.content}
        for name, rows in self.content.items():
            for row in rows:
                related[name][row.proposal_id].append(row)
        role_order = {"pi": 0, "core": 1}
        calls = {c.pk: c for c in self.calls}
        submissions, frozen_by_id = [], {}
        for proposal in self.proposals:
            if proposal.submitted_at is None:
                continue
            proposal.call = calls[proposal.call_id]
            cache = {name: related[name][proposal.pk] for name in related}
            cache["units"].sort(key=lambda u: (u.role, u.pk))
            cache["team"].sort(key=lambda m: (role_order.get(m.role, 2), m.pk))
            cache["milestones"].sort(key=lambda m: (m.month, m.pk))
            cache["attachments"].sort(key=lambda a: (a.kind, a.uploaded_at))
            proposal._prefetched_objects_cache = cache
            frozen, digest = freeze(build_snapshot(proposal))
            frozen_by_id[proposal.pk] = digest
            submissions.append(
                Submission(
                    id=self.ids(Submission),
                    proposal_id=proposal.pk,
                    version=1,
                    submitted_at=proposal.submitted_at,
                    submitted_by_id=proposal.created_by_id,
                    snapshot=frozen,
                    sha256=digest,
                )
            )
            del proposal._prefetched_objects_cache
        sample = self.rng.sample(sorted(frozen_by_id), 50)
        for loaded in Proposal.objects.with_content().filter(pk__in=sample):
            if freeze(build_snapshot(loaded))[1] != frozen_by_id[loaded.pk]:
                raise SystemExit(f"snapshot of proposal {loaded.pk} differs from the one built from the database")
        self.copy(Submission, submissions)
        self.stage("submission snapshots")

    # experts and avoidance ----------------------------------------------------------------------
    def seed_experts(self):
        from accounts.models import User
        from experts import avoidance
        from experts.models import AvoidPerson, AvoidUnit, Employment, Expert, UnsuitableExpert
        from proposals.models import Proposal

        rng = self.rng
        fields = [f for fs in PROGRAMMES.values() for f in fs]
        users, experts, employments, avoid_units, avoid_people = [], [], [], [], []
        for n in range(N_EXPERTS):
            # A third work at research units that bid (conflicts follow), the rest elsewhere.
            employer = rng.choice(self.research) if n % 3 == 0 else rng.choice(self.employers)
            user = self.user(f"bench-expert-{n:04d}", organization=employer, is_expert=True)
            users.append(user)
            expert = Expert(
                id=self.ids(Expert),
                user_id=user.pk,
                name=user.display_name,
                id_number=id_number(n, "150203"),
                title=rng.choice(TITLES),
                expert_type=rng.choices(["technical", "management", "finance"], [80, 10, 10])[0],
                fields=sorted(set(rng.sample(fields, rng.choice((1, 2, 2, 3))))),
                phone=f"139{rng.randint(10_000_000, 99_999_999)}",
                email=f"expert{n}@bench.jiebang.local",
                yearly_cap=rng.choice([10, 10, 12, 15]),
                updated_at=self.now - timedelta(days=rng.randint(1, 300)),
            )
            experts.append(expert)
            employments.append(
                Employment(
                    id=self.ids(Employment),
                    expert_id=expert.pk,
                    organization_id=employer.pk,
                    started_on=self.today - timedelta(days=rng.randint(400, 6000)),
                    ended_on=None,
                )
            )
            if n % 5 == 0:  # a former employer, within 3 years for half of them
                employments.append(
                    Employment(
                        id=self.ids(Employment),
                        expert_id=expert.pk,
                        organization_id=rng.choice(self.research + self.leads).pk,
                        started_on=self.today - timedelta(days=6000),
                        ended_on=self.today - timedelta(days=rng.choice([300, 2000])),
                    )
                )
            if n % 10 == 0:
                for org in rng.sample(self.leads, 2):
                    avoid_units.append(
                        AvoidUnit(
                            id=self.ids(AvoidUnit), expert_id=expert.pk, credit_code=org.credit_code, name=org.name
                        )
                    )
            if n % 20 == 0:
                person = rng.choice(self.people)
                avoid_people.append(
                    AvoidPerson(
                        id=self.ids(AvoidPerson), expert_id=expert.pk, name=person.name, id_number=person.id_number
                    )
                )
                avoid_people.append(  # by name only: possible matches for an administrator to decide
                    AvoidPerson(id=self.ids(AvoidPerson), expert_id=expert.pk, name=self.name(), id_number="")
                )
        self.copy(User, users)
        self.experts = self.copy(Expert, experts)
        self.copy(Employment, employments)
        self.copy(AvoidUnit, avoid_units)
        self.copy(AvoidPerson, avoid_people)
        unsuitable = [
            UnsuitableExpert(
                id=self.ids(UnsuitableExpert),
                proposal_id=p.pk,
                expert_id=rng.choice(experts).pk,
                reason="与本单位存在长期竞争关系",
            )
            for p in self.proposals
            if p.submitted_at is not None and rng.random() < 0.03
        ]
        self.copy(UnsuitableExpert, unsuitable)
        self.stage("experts")
        # The real avoidance rules over every submitted proposal: Conflict rows with reason codes.
        submitted = Proposal.objects.exclude(status="draft").select_related("call").prefetch_related("call__co_issuers")
        report = avoidance.sync(submitted)
        self.counts["experts.Conflict"] = report["created"]
        self.blocked = avoidance.blocked_pairs([p.pk for p in self.proposals if p.submitted_at is not None])
        self.stage("conflicts (experts.avoidance.sync)")

    # review ---------------------------------------------------------------------------------------
    def seed_reviews(self):
        from reviews import draw as draws
        from reviews.models import Assignment, Draw, Invitation

        rng = self.rng
        by_field = defaultdict(list)
        for e in self.experts:
            for f in e.fields:
                by_field[f].append(e.pk)
        draw_rows, invitations, assignments = [], [], []
        self.panel_of = {}
        for call in self.calls:
            if call.status not in REVIEW_STAGES:
                continue
            issuers = self.issuers_of[call.pk]
            pool = sorted(set(by_field[call.field]) - issuers)  # experts are not employed by issuers here
            seed = hashlib.sha256(f"{SEED}-{call.code}".encode()).hexdigest()
            panel_size, backups = rng.randint(7, 9), 2
            ranking = draws.rank(seed, pool)
            drawn_at = call.deadline + timedelta(days=5)
            draw = Draw(
                id=self.ids(Draw),
                call_id=call.pk,
                fields=[call.field],
                panel_size=panel_size,
                backups=backups,
                rule_version=draws.RULE_VERSION,
                commitment=draws.commitment_of(seed),
                seed=seed,
                status="drawn",
                pool=pool,
                pool_hash=draws.pool_hash_of(call.code, [call.field], draws.RULE_VERSION, pool),
                ranking=ranking,
                created_by_id=self.admin.pk,
                committed_at=drawn_at - timedelta(days=1),
                drawn_at=drawn_at,
            )
            draw_rows.append(draw)
            declined = rng.randrange(panel_size) if rng.random() < 0.3 else None
            panel = []
            for rank, expert_id in enumerate(ranking[: panel_size + backups], start=1):
                if rank <= panel_size:
                    status = "declined" if rank - 1 == declined else "accepted"
                elif declined is not None and rank == panel_size + 1:
                    status = "accepted"  # the first backup replaces the decline
                else:
                    status = "waiting"
                invited = status != "waiting"
                invitation = Invitation(
                    id=self.ids(Invitation),
                    draw_id=draw.pk,
                    expert_id=expert_id,
                    rank=rank,
                    status=status,
                    invited_at=drawn_at if invited else None,
                    respond_by=drawn_at + timedelta(days=3) if invited else None,
                    responded_at=drawn_at + timedelta(days=1) if invited else None,
                    reason="时间冲突，无法参加评审" if status == "declined" else "",
                )
                invitations.append(invitation)
                if status == "accepted":
                    panel.append(invitation)
            self.panel_of[call.pk] = panel
            for proposal in self.proposals_of[call.pk]:
                if proposal.status not in REVIEWED:
                    continue
                for invitation in panel:
                    if (invitation.expert_id, proposal.pk) in self.blocked:
                        continue
                    assignments.append(
                        Assignment(
                            id=self.ids(Assignment),
                            proposal_id=proposal.pk,
                            expert_id=invitation.expert_id,
                            invitation_id=invitation.pk,
                            active=True,
                            created_at=drawn_at + timedelta(days=2),
                        )
                    )
        self.copy(Draw, draw_rows)
        self.copy(Invitation, invitations)
        self.assignments = self.copy(Assignment, assignments)
        self.stage("draws, invitations, assignments")

    def seed_scores(self):
        from reviews import aggregation
        from reviews.models import Notice, Recommendation, Result, Score, ScoreItem

        rng = self.rng
        calls = {c.pk: c for c in self.calls}
        proposals = {p.pk: p for p in self.proposals}
        by_call = defaultdict(list)
        for a in self.assignments:
            by_call[proposals[a.proposal_id].call_id].append(a)
        # Calls still under review: a progress level each; later stages are complete.
        open_calls = [pk for pk in by_call if calls[pk].status == "under_review"]
        closed_total = sum(len(v) for pk, v in by_call.items() if pk not in open_calls)
        open_total = sum(len(by_call[pk]) for pk in open_calls)
        wanted_open = N_SCORES - closed_total  # score sheets in calls under review
        if not 0 < wanted_open <= open_total:
            raise SystemExit(f"cannot place {N_SCORES} scores on {closed_total + open_total} assignments")
        started = set()
        order = [a for pk in open_calls for a in by_call[pk]]
        rng.shuffle(order)
        started = {a.pk for a in order[:wanted_open]}
        quality = {}
        for p in self.proposals:
            mean = 50 if calls[p.call_id].status == "failed" else 76
            quality[p.pk] = min(97.0, max(35.0, rng.gauss(mean, 9)))
        scores, items = [], []
        totals, key_points = defaultdict(list), defaultdict(list)
        for call_pk, rows in by_call.items():
            call = calls[call_pk]
            criteria = self.criteria[call_pk]
            for a in rows:
                if call.status == "under_review" and a.pk not in started:
                    continue  # not started: no score sheet yet
                submitted = call.status != "under_review" or rng.random() < 0.85
                level = min(0.99, max(0.2, (quality[a.proposal_id] + rng.gauss(0, 6)) / 100))
                score = Score(
                    id=self.ids(Score),
                    assignment_id=a.pk,
                    status="submitted" if submitted else "draft",
                    comment="总体可行，建议支持。" if submitted else "",
                    submitted_at=a.created_at + timedelta(days=rng.randint(2, 12)) if submitted else None,
                    updated_at=a.created_at + timedelta(days=12),
                )
                total = Decimal(0)
                for i, criterion in enumerate(criteria):
                    if not submitted and i >= 3:
                        break  # a half-filled draft
                    points = (criterion.max_points * Decimal(level + rng.uniform(-0.05, 0.05))).quantize(Decimal("0.5"))
                    points = min(criterion.max_points, max(Decimal(0), points))
                    total += points
                    items.append(
                        ScoreItem(
                            id=self.ids(ScoreItem),
                            score_id=score.pk,
                            criterion_id=criterion.pk,
                            points=points,
                            comment=COMMENTS[i % len(COMMENTS)],
                        )
                    )
                    if i == 0 and submitted:
                        key_points[a.proposal_id].append(points)
                if submitted:
                    score.total = total
                    totals[a.proposal_id].append(total)
                scores.append(score)
        self.copy(Score, scores)
        self.copy(ScoreItem, items)
        self.stage("scores and score items")
        # Results, winners and notices for calls past review (reviews.aggregation ranks).
        results, recommendations, notices, status_updates = [], [], [], {}
        for call in self.calls:
            if call.status not in ("in_notice", "awarded", "failed"):
                continue
            programme = self.programmes[call.programme_id]
            entries = []
            for p in self.proposals_of[call.pk]:
                if p.status not in REVIEWED:
                    continue
                agg = aggregation.aggregate(
                    totals[p.pk], method=programme.aggregation, trim_threshold=programme.trim_threshold
                )
                points = key_points[p.pk]
                key = sum(points, Decimal(0)) / len(points) if points else None
                entries.append(aggregation.Entry(p.pk, agg, key, p.submitted_at))
            ranked = aggregation.rank(entries, pass_threshold=programme.pass_threshold)
            winners = [] if call.status == "failed" else aggregation.default_winners(ranked, call.max_winners)
            for r in ranked:
                agg = r.entry.aggregate
                results.append(
                    Result(
                        id=self.ids(Result),
                        proposal_id=r.entry.proposal_id,
                        count=agg.count,
                        final=agg.final,
                        method=agg.method,
                        median=agg.median,
                        sd=agg.sd,
                        spread=agg.spread,
                        key_criterion=r.entry.key_criterion,
                        disagreement=agg.disagreement,
                        vetoed=agg.vetoed,
                        rank=r.rank,
                        passed=r.passed,
                        computed_at=call.deadline + timedelta(days=30),
                    )
                )
            for pid in winners:
                fiscal = self.fiscal_by_proposal[pid]
                recommendations.append(
                    Recommendation(
                        id=self.ids(Recommendation),
                        proposal_id=pid,
                        call_id=call.pk,
                        fiscal_amount=money(min(fiscal, call.fiscal_cap / len(winners)) * Decimal("0.9")),
                        confirmed_by_id=self.admin.pk,
                        confirmed_at=call.deadline + timedelta(days=32),
                    )
                )
                status_updates[pid] = "recommended" if call.status == "in_notice" else "awarded"
            if call.status == "in_notice":
                starts = self.today - timedelta(days=2)
                notices.append(
                    Notice(
                        id=self.ids(Notice),
                        call_id=call.pk,
                        starts_on=starts,
                        ends_on=starts + timedelta(days=programme.notice_days - 1),
                        published_by_id=self.admin.pk,
                        published_at=self.now - timedelta(days=2),
                    )
                )
            elif call.status == "awarded":
                starts = (call.deadline + timedelta(days=35)).date()
                notices.append(
                    Notice(
                        id=self.ids(Notice),
                        call_id=call.pk,
                        starts_on=starts,
                        ends_on=starts + timedelta(days=programme.notice_days - 1),
                        published_by_id=self.admin.pk,
                        published_at=call.deadline + timedelta(days=35),
                        finalised_at=call.deadline + timedelta(days=42),
                    )
                )
        self.copy(Result, results)
        self.copy(Recommendation, recommendations)
        self.copy(Notice, notices)
        from proposals.models import Proposal

        for status in ("recommended", "awarded"):
            ids = [pid for pid, s in status_updates.items() if s == status]
            Proposal.objects.filter(pk__in=ids).update(status=status)
        self.stage("results, winners, notices")

    def collect_fiscal(self):
        from proposals.models import BudgetLine

        self.fiscal_by_proposal = defaultdict(Decimal)
        for pid, amount in BudgetLine.objects.filter(source="fiscal").values_list("proposal_id", "amount"):
            self.fiscal_by_proposal[pid] += amount

    def run(self):
        from django.core.management.color import no_style
        from django.db import connection, transaction

        from accounts.models import Organization, User
        from calls.models import Call, Programme, RubricCriterion, Target
        from experts.models import AvoidPerson, AvoidUnit, Conflict, Employment, Expert, UnsuitableExpert
        from proposals.models import (
            Attachment,
            BudgetLine,
            Milestone,
            Person,
            Proposal,
            ProposalUnit,
            Submission,
            TargetCommitment,
            TeamMember,
        )
        from reviews.models import Assignment, Draw, Invitation, Notice, Recommendation, Result, Score, ScoreItem

        models = [Organization, User, Programme, Call, Call.co_issuers.through, Target, RubricCriterion]
        models += [Proposal, ProposalUnit, Person, TeamMember, TargetCommitment, Milestone, BudgetLine, Attachment]
        models += [Submission, Expert, Employment, AvoidUnit, AvoidPerson, UnsuitableExpert, Conflict]
        models += [Draw, Invitation, Assignment, Score, ScoreItem, Result, Recommendation, Notice]
        with transaction.atomic():
            self.seed_organizations()
            self.seed_calls()
            self.sizes = self.call_sizes()
            self.seed_proposals()
            analyze()  # fresh statistics, so reading the rows back below gets sensible plans
            self.seed_submissions()
            self.seed_experts()
            analyze()
            self.seed_reviews()
            self.collect_fiscal()
            self.seed_scores()
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), models):
                    cursor.execute(sql)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stage("commit and ANALYZE")


def main() -> int:
    reset = "--reset" in sys.argv
    start = time.perf_counter()
    ensure_database("bench/seed_large.py", reset)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - start
    if is_seeded():
        print(f"{os.environ['DATABASE_URL']}: already seeded; nothing done (use --reset to start again).")
        return 0
    gc.disable()  # hundreds of thousands of short-lived rows: collection passes only cost time
    seeder = Seeder()
    seeder.run()
    gc.enable()
    print(f"{'database and migrations':<40} {migrated:6.1f} s")
    for name, seconds in seeder.timings:
        print(f"{name:<40} {seconds:6.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        for label in sorted(seeder.counts):
            from django.apps import apps

            model = apps.get_model(label)
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
            print(f"  {label:<38} {cursor.fetchone()[0]:>9,}")
        cursor.execute(
            "SELECT status, count(*) FROM calls_call GROUP BY status ORDER BY status",
        )
        print("  calls by status:", ", ".join(f"{s} {n}" for s, n in cursor.fetchall()))
        cursor.execute("SELECT status, count(*) FROM proposals_proposal GROUP BY status ORDER BY status")
        print("  proposals by status:", ", ".join(f"{s} {n}" for s, n in cursor.fetchall()))
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)  # raises SystemExit / CommandError when the chain is broken
    print(f"verify_audit: {out.getvalue().strip()}")
    print(f"seeded in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
