"""Demo organisations and users (fictional names, valid credit codes).

Used by ``seed_demo``; later issues add programmes, calls, proposals and
reviews so that the demo shows every stage of the lifecycle.
"""

from accounts.models import OrganizationType, Region
from accounts.validators import check_character

DEMO_PASSWORD = "jiebang-demo"


def credit_code(department_and_type: str, region_code: str, organisation_code: str) -> str:
    """Build a valid code from its parts (2 + 6 + 9 characters)."""
    first17 = department_and_type + region_code + organisation_code
    return first17 + check_character(first17)


T = OrganizationType
ORGANISATIONS = [
    # key, name, department+type, region code, organisation code, type, region, province
    ("dept", "内蒙古自治区科学技术厅", "11", "150000", "K1500001X", T.GOVERNMENT, Region.HOHHOT, ""),
    ("dairy", "内蒙古草原乳业集团有限公司", "91", "150100", "MA0D2Y6H1", T.ENTERPRISE, Region.HOHHOT, ""),
    ("rare_earth", "包头稀土新材料股份有限公司", "91", "150200", "MA0N3K7L2", T.ENTERPRISE, Region.BAOTOU, ""),
    ("seed", "赤峰丰泽种业科技有限公司", "91", "150400", "MA13PQ8R3", T.ENTERPRISE, Region.CHIFENG, ""),
    ("ag_univ", "内蒙古农牧科技大学", "12", "150000", "46004217X", T.UNIVERSITY, Region.HOHHOT, ""),
    ("grass_inst", "内蒙古草业科学研究院", "12", "150000", "46004932L", T.INSTITUTE, Region.HOHHOT, ""),
    ("storage_lab", "鄂尔多斯新型储能技术研究院", "52", "150600", "MJY45D2T5", T.NEW_RND, Region.ORDOS, ""),
    ("eco", "通辽沙地生态环保有限公司", "91", "150500", "MA0Q8W1U6", T.ENTERPRISE, Region.TONGLIAO, ""),
    ("coal_chem", "乌海恒泰煤化工有限公司", "91", "150300", "MA0R2N4X7", T.ENTERPRISE, Region.WUHAI, ""),
    ("hulun_dairy", "呼伦贝尔牧原乳品有限公司", "91", "150700", "MA0T5C9Y8", T.ENTERPRISE, Region.HULUNBUIR, ""),
    ("assoc", "内蒙古科技成果转化促进会", "51", "150000", "MJ0K6P3A4", T.OTHER, Region.HOHHOT, ""),
    (
        "bj_storage",
        "北京清源储能科技有限公司",
        "91",
        "110108",
        "MA01B7QW9",
        T.ENTERPRISE,
        Region.OUT_OF_REGION,
        "北京市",
    ),
    (
        "js_materials",
        "江苏华科新材料研究院有限公司",
        "91",
        "320100",
        "MA1N8HF22",
        T.NEW_RND,
        Region.OUT_OF_REGION,
        "江苏省",
    ),
    ("cas_inst", "中国农业科学院草原研究所", "12", "100000", "40001234X", T.INSTITUTE, Region.OUT_OF_REGION, "北京市"),
]

BLACKLISTED = {
    "coal_chem": "2024年度科研项目绩效评价中发现虚报经费，列入科研失信行为记录",
}

# username, display name, organisation key, roles, extra flags
USERS = [
    ("admin", "王建国（科技厅）", "dept", ["administrator"], {"is_staff": True, "is_superuser": True}),
    ("supervisor", "李秀英（纪检）", "dept", ["supervisor"], {}),
    ("issuer", "张海峰", "dairy", ["issuer"], {}),
    ("applicant", "刘晓燕", "seed", ["applicant"], {}),
    ("partner", "陈志强", "ag_univ", ["applicant"], {}),
    ("expert1", "赵明远", "ag_univ", ["expert"], {}),
    ("expert2", "孙丽华", "grass_inst", ["expert"], {}),
    ("expert3", "周文斌", "storage_lab", ["expert"], {}),
    ("expert4", "吴静", "cas_inst", ["expert"], {}),
    ("expert5", "郑浩然", "js_materials", ["expert"], {}),
    ("expert6", "冯雪梅", "bj_storage", ["expert"], {}),
    # An applicant who is also an expert: one person may hold several roles.
    ("expert7", "韩立新", "grass_inst", ["expert", "applicant"], {}),
]
