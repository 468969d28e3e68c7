"""Demo expert pool and one finished draw for ``seed_demo``.

Experts, their employment history and avoid-lists are created with the ORM (one audited
``expert.create`` each); the draw, the answers and the routing go through ``reviews.draw`` and
``reviews.routing``, so the audit trail records them. The pool is sized per field so that every
demo call has at least ``min_reviewers + 3`` eligible experts; the rare-earth pool is exactly that,
which makes it likely (not certain: the ranking is an HMAC with a fresh secret seed, and a demo
never redraws) that expert1 sits on the panel of the call under review. That call is still closed
here (calls.demo stops review-stage calls at "closed"); reviews.demo starts its review and draws
the panels of the later-stage calls with ``review_setup``.
"""

import hashlib
import logging
from datetime import date, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, Q
from django.test.utils import override_settings
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, ORGANISATIONS, credit_code
from accounts.models import Organization, OrganizationType, Region, User
from accounts.services import ensure_organization, ensure_user
from audit.services import record, snapshot
from calls.choices import CallStatus
from calls.demo import CALLS
from calls.models import Call
from experts import avoidance
from experts.choices import ConflictStatus, ExpertType
from experts.models import AvoidPerson, AvoidUnit, Conflict, Employment, Expert
from proposals.choices import ProposalStatus
from proposals.demo import DISTRICTS, FEMALE, NEW_ORGS
from proposals.models import Proposal
from proposals.validators import id_check_character
from reviews import draw as draws
from reviews.models import Assignment, Draw, InvitationStatus
from reviews.routing import reviewable_proposals, route_panel

T, R = OrganizationType, Region
# Employers outside every demo consortium: key, name, credit code parts, type, region, province
EXPERT_ORGS = [
    ("nb_tech", "内蒙古北疆理工大学", ("12", "150200", "46005837D"), T.UNIVERSITY, R.BAOTOU, ""),
    ("qc_univ", "内蒙古青城大学", ("12", "150100", "46002915F"), T.UNIVERSITY, R.HOHHOT, ""),
    ("energy_inst", "内蒙古能源环境科学研究院", ("12", "150000", "46007124H"), T.INSTITUTE, R.HOHHOT, ""),
    ("husbandry_inst", "内蒙古畜牧科学研究院", ("12", "150000", "46003358J"), T.INSTITUTE, R.HOHHOT, ""),
    ("metal_inst", "包头白云冶金工程研究院有限公司", ("91", "150200", "MA0K8R3T1"), T.NEW_RND, R.BAOTOU, ""),
    ("audit_firm", "内蒙古正衡会计师事务所有限公司", ("91", "150100", "MA0E6U2W9"), T.ENTERPRISE, R.HOHHOT, ""),
    ("jh_univ", "京华理工大学", ("12", "110000", "40007532L"), T.UNIVERSITY, R.OUT_OF_REGION, "北京市"),
    ("qinchuan", "秦川农业大学", ("12", "610000", "43511268N"), T.UNIVERSITY, R.OUT_OF_REGION, "陕西省"),
    ("desert_inst", "西北荒漠生态研究所", ("12", "620000", "45220971P"), T.INSTITUTE, R.OUT_OF_REGION, "甘肃省"),
    ("sx_coal", "山西晋源煤炭清洁利用研究院", ("12", "140000", "41130586R"), T.INSTITUTE, R.OUT_OF_REGION, "山西省"),
]
# ID number region prefix (GB/T 2260) by the employer's league/city or province.
PREFIXES = DISTRICTS | {"陕西省": "610403", "甘肃省": "620102", "山西省": "140105"}

# username, name ("-": the demo user's display name), title, type, employer, fields.
# Field coverage (eligible = not linked to the call's issuers): 8 each for rare earth (exactly
# min_reviewers + 3, so expert1 has a good chance in JB-…-004), dairy, seed, grassland and ecology;
# 9 for clean coal; 11–12 for energy storage, whose demo proposals conflict with three of them
# (expert33–35 keep those panels at min_reviewers after a decline).
EXPERTS = """
expert1 - 教授 technical ag_univ rare_earth
expert2 - 研究员 management grass_inst grassland,seed,ecology
expert3 - 正高级工程师 technical storage_lab energy_storage,rare_earth
expert4 - 研究员 technical cas_inst grassland,seed,ecology
expert5 - 正高级工程师 technical js_materials energy_storage,new_energy
expert6 - 高级会计师 finance bj_storage energy_storage,new_energy
expert7 - 研究员 technical grass_inst dairy,grassland
expert8 李振华 教授 technical nb_tech rare_earth,new_energy
expert9 王淑芳 研究员 technical nb_tech rare_earth,equipment
expert10 刘建平 正高级工程师 technical battery rare_earth,energy_storage
expert11 张永明 教授 technical jh_univ rare_earth,energy_storage
expert12 高丽娟 教授 technical qc_univ rare_earth,energy_storage
expert13 何立军 正高级工程师 technical metal_inst rare_earth,equipment
expert14 田志勇 研究员 technical energy_inst rare_earth,energy_storage
expert15 韦国强 正高级工程师 technical power energy_storage,clean_coal
expert16 沈玉兰 教授 technical jh_univ energy_storage,clean_coal
expert17 黄志伟 研究员 technical energy_inst clean_coal,ecology
expert18 常宏斌 正高级工程师 technical sx_coal clean_coal,coal_chemical
expert19 薛玉梅 研究员 technical sx_coal clean_coal,coal_chemical
expert20 潘立峰 正高级工程师 technical power clean_coal,new_energy
expert21 范文龙 教授 technical nb_tech clean_coal,ecology
expert22 钟丽萍 正高级会计师 finance audit_firm energy_storage,clean_coal,dairy,ecology
expert23 额尔敦 研究员 technical husbandry_inst dairy,seed,grassland
expert24 蒋淑娟 教授 technical ag_univ dairy,biomedicine
expert25 温文杰 正高级工程师 technical dairy_tech dairy,equipment
expert26 萨仁娜 研究员 technical husbandry_inst grassland,seed,dairy
expert27 谢国华 教授 technical qinchuan dairy,seed,grassland
expert28 林雪芳 研究员 technical jh_univ dairy,biomedicine
expert29 汪德明 研究员 technical hetao seed,grassland,ecology
expert30 格日勒图 研究员 technical desert_inst ecology,grassland
expert31 姚秀英 教授 technical qinchuan grassland,ecology,seed
expert32 石建华 研究员 management assoc seed,ecology,grassland
expert33 罗志坚 正高级工程师 technical energy_inst energy_storage,new_energy
expert34 邱晓梅 教授 technical qc_univ energy_storage,clean_coal
expert35 秦立华 教授 technical jh_univ energy_storage,new_energy
"""
# Former employers: username -> (employer, started, ended: a date, or months before today).
# Within 3 years an employer still counts (avoidance, and the draw leaves out the issuer's people).
FORMER = {
    "expert1": ("re_inst", date(2012, 7, 1), 26),  # a unit of one JB-…-004 proposal: avoided there
    "expert3": ("rare_earth", date(2010, 7, 1), 18),  # issuer of the rare-earth calls: not drawn for them
    "expert2": ("seed", date(2008, 7, 1), date(2016, 6, 30)),  # long ago: no longer counts
    "expert27": ("hulun_dairy", date(2005, 7, 1), date(2019, 8, 31)),
}
AVOID_UNITS = {"expert5": ["battery"]}  # by credit code
AVOID_PEOPLE = {"expert4": ["许振国"]}  # by name only (ID number unknown): a possible conflict
DECLINE_REASON = "评审期间已有赴外省出差安排（国家重点研发计划项目现场考核），无法参加本次评审。"
DEMO_LOGINS = {f"expert{i}" for i in range(1, 8)}
SYNCED = [ProposalStatus.SUBMITTED, ProposalStatus.PASSED, ProposalStatus.UNDER_REVIEW]


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def _id_number(name: str, org: Organization) -> str:
    """Same rule as proposals.demo (an expert who is also on a demo team gets that person's number)."""
    prefix = PREFIXES.get(org.region) or PREFIXES.get(org.province, "110101")
    h = _hash(f"{prefix}{name}")
    born = date(1965, 1, 1) + timedelta(days=h % 9490)
    sex = (h >> 32) % 5 * 2 + (0 if FEMALE & set(name) else 1)
    first17 = f"{prefix}{born:%Y%m%d}{(h >> 16) % 100:02d}{sex}"
    return first17 + id_check_character(first17)


def _phone(name: str) -> str:
    h = _hash(f"phone{name}")
    return f"1{('39', '38', '58', '89', '47', '50')[h % 6]}{h % 10**8:08d}"


def _rows() -> list[dict]:
    rows = []
    for line in EXPERTS.strip().splitlines():
        username, name, title, expert_type, employer, fields = line.split()
        rows.append(
            {
                "username": username,
                "name": name,
                "title": title,
                "expert_type": ExpertType(expert_type),
                "employer": employer,
                "fields": fields.split(","),
            }
        )
    return rows


def _organisations() -> tuple[dict, int]:
    orgs = {key: Organization.objects.get(credit_code=credit_code(*code)) for key, _n, code, *_r in NEW_ORGS}
    for key, _name, dept_type, region_code, org_code, *_rest in ORGANISATIONS:
        orgs[key] = Organization.objects.get(credit_code=credit_code(dept_type, region_code, org_code))
    created = 0
    for key, name, code, org_type, region, province in EXPERT_ORGS:
        fields = {"name": name, "org_type": org_type, "region": region, "province": province}
        orgs[key], new = ensure_organization(actor=None, credit_code=credit_code(*code), **fields)
        created += new
    return orgs, created


def _create_expert(row: dict, user: User, orgs: dict, today: date) -> Expert:
    employer = orgs[row["employer"]]
    id_number = _id_number(user.display_name, employer)
    with transaction.atomic():
        expert = Expert(
            user=user,
            name=user.display_name,
            id_number=id_number,
            title=row["title"],
            expert_type=row["expert_type"],
            fields=row["fields"],
            phone=user.phone or _phone(user.display_name),
            email=user.email,
            yearly_cap=10,
        )
        expert.full_clean()
        expert.save()
        started = date(int(id_number[6:10]) + 25, 9, 1)
        if row["username"] in FORMER:
            key, began, ended = FORMER[row["username"]]
            if isinstance(ended, int):
                ended = today - timedelta(days=round(ended * 30.44))
            Employment.objects.create(expert=expert, organization=orgs[key], started_on=began, ended_on=ended)
            started = ended + timedelta(days=1)
        Employment.objects.create(expert=expert, organization=employer, started_on=min(started, today))
        for key in AVOID_UNITS.get(row["username"], []):
            AvoidUnit.objects.create(expert=expert, credit_code=orgs[key].credit_code, name=orgs[key].name)
        for name in AVOID_PEOPLE.get(row["username"], []):
            AvoidPerson.objects.create(expert=expert, name=name)
        record(actor=None, action="expert.create", obj=expert, after=snapshot(expert))
    return expert


def _experts(orgs: dict, today: date) -> tuple[int, int]:
    """Create the missing experts (and users expert8 …); returns (users created, experts created)."""
    new_users = new_experts = 0
    password = None
    for row in _rows():
        username = row["username"]
        if row["name"] == "-":
            user = User.objects.get(username=username)
        else:
            fields = {
                "display_name": row["name"],
                "email": f"{username}@demo.jiebang.local",
                "phone": _phone(row["name"]),
                "organization": orgs[row["employer"]],
                "is_expert": True,
            }
            with transaction.atomic():
                # Argon2 is slow by design: hash the demo password once for all these accounts.
                user, created = ensure_user(actor=None, username=username, password=None, **fields)
                if created:
                    password = password or make_password(DEMO_PASSWORD)
                    User.objects.filter(pk=user.pk).update(password=password)
            new_users += created
        id_number = _id_number(user.display_name, orgs[row["employer"]])
        if Expert.objects.filter(Q(user=user) | Q(id_number=id_number)).exists():
            continue
        _create_expert(row, user, orgs, today)
        new_experts += 1
    return new_users, new_experts


def _code(status: str) -> str:
    year = timezone.localdate().year
    offset, number = next(item["ref"][:2] for item in CALLS if item["ref"][5] == status)
    return f"JB-{year + offset}-{number:03d}"


def review_setup(call: Call, admin: User, backups: int = 3) -> Draw:
    """Commit and perform the draw; every invited expert accepts but one, who declines (the next backup
    comes in); then route, bringing in backups while conflicts leave a proposal short. Never a redraw."""
    blocked = {e for e, _p in avoidance.blocked_pairs(reviewable_proposals(call).values_list("pk", flat=True))}
    with transaction.atomic():
        draw = draws.commit(actor=admin, call=call, panel_size=call.programme.min_reviewers, backups=backups)
        draw = draws.perform(actor=admin, draw=draw)
        invited = list(draw.invitations.filter(status=InvitationStatus.PENDING).select_related("expert__user"))
        # Someone who declines: not a demo login, not expert1, not an expert kept off a proposal.
        declining = [
            i for i in invited if i.expert_id not in blocked and i.expert.user.username not in DEMO_LOGINS
        ] or [i for i in invited if i.expert_id not in blocked and i.expert.user.username != "expert1"]
        if declining:
            decliner = declining[-1]
            draws.respond(actor=decliner.expert.user, invitation=decliner, accept=False, reason=DECLINE_REASON)
        for _round in range(draw.backups + 1):
            for invitation in draw.invitations.filter(status=InvitationStatus.PENDING).select_related("expert__user"):
                draws.respond(actor=invitation.expert.user, invitation=invitation, accept=True)
            if not route_panel(actor=admin, call=call).invited:
                break
    return draw


def seed_experts(stdout) -> int:
    """Create the expert pool and the draw of the call under review; return how many objects were created.

    Demo history, not events: invitation mails go to a dummy backend and eager tasks do not log each run.
    """
    loggers = [logging.getLogger(name) for name in ("celery.app.trace", "kombu.connection")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            return _seed(stdout)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _seed(stdout) -> int:
    today = timezone.localdate()
    orgs, new_orgs = _organisations()
    new_users, new_experts = _experts(orgs, today)
    proposals = Proposal.objects.filter(status__in=SYNCED).select_related("call").prefetch_related("call__co_issuers")
    avoidance.sync(proposals)

    admin = User.objects.get(username="admin")
    call = Call.objects.select_related("programme").get(code=_code(CallStatus.UNDER_REVIEW))
    draw = call.draws.order_by("committed_at").first()
    new_draw = draw is None
    if new_draw:
        draw = review_setup(call, admin)
    expert1 = Expert.objects.get(user__username="expert1")
    panel = draw.invitations.filter(status=InvitationStatus.ACCEPTED).select_related("expert")
    on_panel = any(i.expert_id == expert1.pk for i in panel)
    mine = Assignment.objects.filter(expert=expert1, proposal__call=call, active=True).count()
    accepted = "、".join(i.expert.name for i in panel)
    conflicts = dict(Conflict.objects.values_list("status").annotate(n=Count("pk")).order_by())
    stdout.write(
        f"Demo experts: {new_orgs} units, {new_users} expert accounts and {new_experts} experts created "
        f"({Expert.objects.count()} experts, {sum(conflicts.values())} conflicts of which "
        f"{conflicts.get(ConflictStatus.POTENTIAL, 0)} possible); draw {call.code} #{draw.pk} "
        f"{'made' if new_draw else 'kept'} (pool {len(draw.pool)}, accepted: {accepted}); "
        f"expert1 {'is' if on_panel else 'is NOT'} on the panel and assigned {mine} of "
        f"{reviewable_proposals(call).count()} proposals; {_code(CallStatus.CLOSED)} is left for a live draw. "
        f"Extra expert logins expert8–expert35, same demo password.\n"
    )
    return new_orgs + new_users + new_experts + new_draw
