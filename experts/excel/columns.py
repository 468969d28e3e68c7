"""The spreadsheet format of the expert pool: one sheet 专家库, one expert per row.

Headers are fixed Chinese text (they are the file format, not user
interface); explanations on the 说明 sheet and error reasons follow the
reader's language.
"""

import re
from dataclasses import dataclass

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.validators import check_character
from calls.choices import TechField
from experts.choices import ExpertType
from proposals.validators import id_check_character

SHEET = "专家库"
HELP_SHEET = "说明"
MAX_ROWS = 5000  # one file, one import; larger pools are imported in parts
MAX_COLUMNS = 40

YES, NO = "是", "否"
TYPE_LABELS = {"技术": ExpertType.TECHNICAL, "管理": ExpertType.MANAGEMENT, "财务": ExpertType.FINANCE}
TYPE_BY_CODE = {code: label for label, code in TYPE_LABELS.items()}
FIELD_BY_LABEL = {label: code for code, label in TechField.choices}
FIELD_LABELS = dict(TechField.choices)
LIST_SEPARATOR = "、"
PERSON_SEPARATOR = ":"
# Lists may be typed with 、 or commas (ASCII or full-width), semicolons or line breaks.
SPLIT_LIST = re.compile(r"[、,，;；\n]+")
SPLIT_PERSON = re.compile(r"[:：]")


def _example_id(first17: str) -> str:
    return first17 + id_check_character(first17)


def _example_code(first17: str) -> str:
    return first17 + check_character(first17)


EXAMPLE_USERNAME = "example-zhangsan"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    help: str
    example: str
    choices: tuple[str, ...] = ()  # offered as a drop-down list
    text: bool = False  # formatted as text so Excel keeps leading zeros and all 18 digits


COLUMNS = [
    Column(
        "username",
        "登录名",
        True,
        _(
            "Login name of the expert's account: letters, digits and @ . + - _ (Chinese characters allowed). "
            "It identifies the expert: a row whose login name exists updates that expert; a new login name "
            "creates the account without a usable password, and an administrator sends a password reset."
        ),
        EXAMPLE_USERNAME,
        text=True,
    ),
    Column("name", "姓名", True, _("Full name, at most 50 characters."), "张三"),
    Column(
        "id_number",
        "身份证号",
        True,
        _(
            "Resident ID number: 18 characters, the last a digit or X, checked per GB 11643. "
            "Keep the column formatted as text: as a number Excel keeps only 15 digits."
        ),
        _example_id("11010519491231002"),
        text=True,
    ),
    Column(
        "employer",
        "工作单位统一社会信用代码",
        True,
        _(
            "Unified social credit code of the employer, which must already be registered. A changed employer "
            "ends the previous employment yesterday and starts the new one today; former employers count for "
            "avoidance for three years."
        ),
        _example_code("91150100MA0N2X3Y4"),
        text=True,
    ),
    Column("title", "职称", False, _("Professional title, at most 50 characters."), "研究员"),
    Column(
        "expert_type",
        "专家类型",
        True,
        format_lazy("{} {}", _("One of:"), " / ".join(TYPE_LABELS)),
        "技术",
        choices=tuple(TYPE_LABELS),
    ),
    Column(
        "fields",
        "技术领域",
        True,
        format_lazy("{} {}", _("Technical fields, separated by 、 or commas. Allowed:"), "、".join(FIELD_BY_LABEL)),
        "新型储能、新能源",
    ),
    Column("phone", "手机", False, _("Mobile phone number."), "13800000000", text=True),
    Column("email", "邮箱", False, _("E-mail address; a new account receives it for the password reset."), ""),
    Column(
        "active",
        "是否有效",
        False,
        _("是 (may be drawn) or 否 (kept in the pool but never drawn). Empty means 是."),
        YES,
        choices=(YES, NO),
    ),
    Column(
        "yearly_cap",
        "年度评审上限",
        False,
        _("Most reviews per year: a whole number of at least 1. Empty means 10."),
        "10",
    ),
    Column(
        "avoid_units",
        "回避单位信用代码",
        False,
        _(
            "Credit codes of units the expert must not review, separated by 、. "
            "The units need not be registered. The whole list is replaced on import."
        ),
        _example_code("12150000460000000"),
        text=True,
    ),
    Column(
        "avoid_people",
        "回避人员",
        False,
        _(
            "People the expert must not review, separated by 、: a name, or name:ID number. "
            "A name alone is only a possible match that an administrator decides. "
            "The whole list is replaced on import."
        ),
        "李四、王五:" + _example_id("15010219800101001"),
    ),
]
HEADERS = [c.header for c in COLUMNS]
BY_KEY = {c.key: c for c in COLUMNS}
BY_HEADER = {c.header: c for c in COLUMNS}
