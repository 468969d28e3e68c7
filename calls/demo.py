"""Demo programmes and calls for ``seed_demo``: every call status, real-looking content.

Calls are created and moved along only through ``calls.services``, so the audit
trail records every step. Past deadlines are demo history: a call that must end
up closed (or later) is published with a future deadline, then its deadline is
moved into the past with a plain update, and then it is closed like any other.

A call whose final status is a review stage (under review, in notice, awarded,
failed) is only closed here: ``reviews.demo`` takes it the rest of the way through
``reviews.decisions`` once its proposals and the expert pool exist, so its
proposals, scores, ranking and notice match its status.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, ORGANISATIONS
from accounts.models import Organization, User
from accounts.services import ensure_user
from audit.services import record, snapshot
from calls import services
from calls.choices import CallStatus as S
from calls.choices import SupportMode
from calls.choices import TechField as F
from calls.models import Call, Programme

ORG_NAMES = {key: name for key, name, *_rest in ORGANISATIONS}

# Programme name -> (description, settings that differ from the Inner Mongolia defaults)
PROGRAMMES = {
    "新型储能突围工程": ("围绕新能源大规模并网消纳，攻关长时储能、构网型储能和宽温域储能关键技术。", {}),
    "稀土新材料突围工程": ("推动包头稀土资源就地转化，突破高端稀土功能材料制备与应用技术。", {}),
    "种业突围工程": (
        "聚焦玉米、马铃薯、牧草等主要作物种源关键核心技术，培育突破性新品种。",
        {"in_region_institute_required": True},
    ),
    "乳业振兴专项": ("支撑奶业全产业链升级：优质饲草、高产奶牛、乳品加工与质量安全。", {}),
    "生态环保与防沙治沙专项": ("服务“三北”工程和黄河“几字弯”攻坚战，攻关荒漠化防治与生态修复技术。", {}),
    "煤炭清洁高效利用专项": ("推动煤电灵活性改造、煤炭清洁低碳利用和煤基固废资源化。", {}),
}

# Issuing organisation (accounts.demo key) -> issuer login, its holder (the call's contact), phone.
# "issuer" is the seed_demo user; the others are extra issuer accounts with the demo password.
ISSUERS = {
    "dairy": ("issuer", "张海峰", "0471-6592318"),
    "hulun_dairy": ("issuer-hulun-dairy", "其其格", "0470-8216543"),
    "rare_earth": ("issuer-rare-earth", "高瑞峰", "0472-5137702"),
    "seed": ("issuer-seed", "马春生", "0476-8827165"),
    "grass_inst": ("issuer-grass-inst", "巴特尔", "0471-6503291"),
    "storage_lab": ("issuer-storage-lab", "杜宇航", "0477-8591034"),
    "eco": ("issuer-eco", "包金山", "0475-8312476"),
}

IP_TERMS = {
    "shared": "项目形成的知识产权由发榜方与揭榜方按任务书约定共享；发榜方在自治区内享有优先实施权，"
    "同等条件下享有优先受让权。",
    "bidder": "项目形成的知识产权归揭榜方所有，发榜方享有在自治区内无偿实施的权利；"
    "揭榜方对外转让或许可须经发榜方书面同意。",
    "variety": "选育的新品种权由发榜方与揭榜方共同申请、共同所有；发榜方享有新品种在自治区内的独家生产经营权，"
    "收益分配在任务书中约定。",
}

PREV, CUR = -1, 0  # programme year: previous or current
# ref: (programme year, number, programme, issuer, co-issuers, final status,
#       deadline: days from today, or (month, day) in the programme year)
# terms: (field, period in months, fiscal cap, issuer contribution (万元), max winners, IP terms)
# tasks and targets: items separated by "；"; a target is "name comparator value unit".
# reason: why the call was returned (a draft), withdrawn or declared failed (by reviews.demo).
CALLS = [
    {
        "ref": (PREV, 1, "新型储能突围工程", "storage_lab", ["bj_storage"], S.AWARDED, (5, 30)),
        "title": "百兆瓦时级构网型磷酸铁锂储能系统关键技术研发与示范",
        "terms": (F.ENERGY_STORAGE, 36, "1000.00", "2500.00", 2, "shared"),
        "keywords": "构网型储能，磷酸铁锂，虚拟同步，电池管理系统",
        "background": "内蒙古新能源装机规模居全国前列，高比例新能源接入使局部电网惯量不足、调频调压能力下降。"
        "现有跟网型储能难以提供电压和频率支撑，亟需长寿命、高安全、具备构网能力的大容量储能系统。",
        "tasks": "研制长寿命、高安全磷酸铁锂储能电芯及电池簇；研发构网型储能变流器及虚拟同步控制策略；"
        "在鄂尔多斯建设百兆瓦时级示范电站并完成并网运行考核",
        "targets": "电芯循环寿命 >= 8000 次；系统能量转换效率 >= 88 %；示范电站储能容量 >= 200 MWh；"
        "一次调频响应时间 <= 200 ms",
    },
    {
        "ref": (PREV, 2, "稀土新材料突围工程", "rare_earth", ["js_materials"], S.AWARDED, (6, 16)),
        "title": "高性能低重稀土烧结钕铁硼永磁材料制备技术",
        "terms": (F.RARE_EARTH, 36, "800.00", "1800.00", 1, "shared"),
        "keywords": "烧结钕铁硼，晶界扩散，低重稀土，驱动电机",
        "background": "新能源汽车驱动电机和风电机组对高矫顽力钕铁硼的需求快速增长，镝、铽等重稀土用量大、成本高。"
        "需突破晶界扩散与微观组织调控技术，在降低重稀土用量的同时提升磁体综合磁性能。",
        "tasks": "晶界扩散重稀土源设计与扩散工艺研究；主相晶粒细化与晶界相调控技术研究；"
        "建设千吨级低重稀土高性能磁体示范生产线",
        "targets": "稀土永磁体最大磁能积 >= 52 MGOe；内禀矫顽力 >= 20 kOe；重稀土添加量 <= 1.0 wt%；"
        "示范线年产能 >= 1000 吨",
    },
    {
        "ref": (PREV, 3, "乳业振兴专项", "hulun_dairy", [], S.FAILED, (7, 31)),
        "title": "高活性乳铁蛋白低温分离纯化技术及产业化",
        "terms": (F.DAIRY, 24, "400.00", "900.00", 1, "bidder"),
        "keywords": "乳铁蛋白，膜分离，离子交换，低温加工",
        "background": "乳铁蛋白是婴幼儿配方乳粉的关键功能配料，目前主要依赖进口。呼伦贝尔优质奶源充足，"
        "但现有工艺存在纯度低、活性损失大等问题，亟需国产化分离纯化技术。",
        "tasks": "低温膜分离与离子交换耦合纯化工艺研究；乳铁蛋白活性保持与干燥技术研究；"
        "建设原料乳日处理百吨级示范生产线",
        "targets": "乳铁蛋白纯度 >= 95 %；乳铁蛋白回收率 >= 80 %；铁饱和度 <= 15 %；原料乳处理能力 >= 100 吨/日",
        "reason": "经专家评审，2份揭榜方案综合得分均未达到60分通过线，本榜单流榜，需求可在下一年度重新征集。",
    },
    {
        "ref": (PREV, 4, "生态环保与防沙治沙专项", "eco", ["grass_inst"], S.AWARDED, (5, 20)),
        "title": "科尔沁沙地退化草地植被快速恢复与固沙技术集成示范",
        "terms": (F.ECOLOGY, 36, "600.00", "1200.00", 1, "shared"),
        "keywords": "科尔沁沙地，植被恢复，乡土草种，机械沙障",
        "background": "科尔沁沙地是“三北”工程科尔沁—浑善达克沙地歼灭战的主战场，退化草地面积大、恢复速度慢。"
        "现有治理模式乡土草种利用不足、后期管护成本高，需集成低成本快速恢复技术。",
        "tasks": "乡土草种筛选与混播配置技术研究；生物沙障与机械沙障协同固沙技术研究；"
        "建设万亩级退化草地恢复示范区并开展成效监测",
        "targets": "沙地植被覆盖度 >= 40 %；示范区面积 >= 10000 亩；流动沙丘固定率 >= 85 %；"
        "示范区乡土植物种数 >= 15 种",
    },
    {
        "ref": (CUR, 1, "新型储能突围工程", "storage_lab", [], S.PUBLISHED, 30),
        "title": "百兆瓦级全钒液流电池长时储能系统关键技术",
        "terms": (F.ENERGY_STORAGE, 36, "900.00", "2000.00", 1, "shared"),
        "keywords": "全钒液流电池，长时储能，电堆，电解液",
        "background": "随着新能源渗透率提高，4小时以上的长时储能需求迅速增加。全钒液流电池安全性好、寿命长，"
        "但电堆功率密度低、系统成本高，制约其规模化应用。",
        "tasks": "高功率密度电堆结构设计与关键材料研究；低成本电解液制备及容量衰减抑制技术研究；"
        "百兆瓦级系统集成与智能运维技术研究",
        "targets": "单堆额定功率 >= 250 kW；系统能量效率 >= 75 %；连续储能时长 >= 4 h；容量年衰减率 <= 1 %",
        "bureau": 7,
    },
    {
        "ref": (CUR, 2, "新型储能突围工程", "storage_lab", ["bj_storage"], S.IN_NOTICE, -75),
        "title": "高寒地区风光储场站宽温域钠离子电池储能系统研制",
        "terms": (F.ENERGY_STORAGE, 30, "600.00", "1500.00", 1, "bidder"),
        "keywords": "钠离子电池，宽温域，低温性能，风光储一体化",
        "background": "内蒙古冬季最低气温可达零下40摄氏度，锂离子电池低温容量衰减明显、保温能耗高。"
        "钠离子电池低温性能好、资源易得，适合高寒地区风光储场站，但循环寿命和系统集成仍需突破。",
        "tasks": "宽温域钠离子电池正负极材料及电解液研究；电芯设计与长循环寿命技术研究；高寒场站储能系统集成与示范运行",
        "targets": "电芯能量密度 >= 160 Wh/kg；零下30摄氏度容量保持率 >= 85 %；电芯循环寿命 >= 6000 次；"
        "系统能量转换效率 >= 88 %",
    },
    {
        "ref": (CUR, 3, "稀土新材料突围工程", "rare_earth", ["js_materials"], S.PUBLISHED, 45),
        "title": "高丰度稀土镧铈永磁材料及电机应用技术",
        "terms": (F.RARE_EARTH, 36, "1000.00", "3000.00", 2, "shared"),
        "keywords": "镧铈永磁，高丰度稀土，平衡利用，永磁电机",
        "background": "白云鄂博稀土矿中镧、铈占比超过七成，长期积压，稀土资源平衡利用问题突出。"
        "以镧铈部分替代镨钕制备永磁材料可显著降低成本，但磁性能下降，需攻克成分设计与工艺难题。",
        "tasks": "镧铈替代永磁材料成分设计与双主相调控；高镧铈磁体制备工艺与稳定性研究；镧铈永磁在工业电机中的应用验证",
        "targets": "镧铈替代比例 >= 30 %；稀土永磁体最大磁能积 >= 45 MGOe；内禀矫顽力 >= 14 kOe；示范电机效率 >= 96 %",
    },
    {
        "ref": (CUR, 4, "稀土新材料突围工程", "rare_earth", [], S.UNDER_REVIEW, -40),
        "title": "稀土储氢合金及固态储氢装置研制",
        "terms": (F.RARE_EARTH, 24, "500.00", "1200.00", 1, "bidder"),
        "keywords": "稀土储氢合金，固态储氢，氢能，吸放氢",
        "background": "内蒙古风光制氢项目快速发展，氢气储运成为产业瓶颈。稀土系储氢合金吸放氢条件温和、安全性高，"
        "可用于固态储氢，但储氢密度和循环寿命有待提升。",
        "tasks": "高容量长寿命稀土储氢合金成分优化；固态储氢装置热管理与结构设计",
        "targets": "合金质量储氢密度 >= 1.8 wt%；吸放氢循环寿命 >= 3000 次；单台装置储氢量 >= 50 kg；放氢温度 <= 80 ℃",
    },
    {
        "ref": (CUR, 5, "种业突围工程", "hulun_dairy", [], S.PUBLISHED, 35),
        "title": "耐密抗逆宜机收玉米新品种选育",
        "terms": (F.SEED, 36, "800.00", "1600.00", 2, "variety"),
        "keywords": "玉米，耐密植，籽粒机收，分子育种",
        "background": "玉米是内蒙古第一大粮食作物，但主推品种耐密性和抗倒伏能力不足，籽粒机收比例偏低。"
        "需利用分子标记辅助选择与双单倍体育种技术，加快选育适合西辽河流域的突破性品种。",
        "tasks": "耐密抗倒种质资源创制与鉴定；分子标记辅助选择与双单倍体快速育种；"
        "新品种区域试验、审定与配套栽培技术集成",
        "targets": "亩产 >= 900 kg；种植密度 >= 6000 株/亩；收获期籽粒含水率 <= 25 %；通过审定新品种 >= 2 个",
    },
    {
        "ref": (CUR, 6, "种业突围工程", "grass_inst", [], S.CLOSED, -5),
        "title": "高产优质抗寒紫花苜蓿新品种选育",
        "terms": (F.GRASSLAND, 36, "400.00", "600.00", 1, "variety"),
        "keywords": "紫花苜蓿，抗寒，优质饲草，草种业",
        "background": "优质苜蓿是奶业发展的基础饲草，我区苜蓿种子对外依存度高，现有品种越冬率不稳定。需选育高产、"
        "优质、抗寒的苜蓿新品种，保障奶业饲草供给安全。",
        "tasks": "抗寒苜蓿种质资源收集与评价；高产优质抗寒新品系选育与品比试验；新品种审定及种子扩繁技术研究",
        "targets": "干草亩产 >= 1000 kg；越冬率 >= 90 %；粗蛋白含量 >= 20 %；通过审定新品种 >= 1 个",
    },
    {
        "ref": (CUR, 7, "乳业振兴专项", "dairy", [], S.PUBLISHED, 25),
        "title": "高产奶牛精准饲喂与乳蛋白提升关键技术",
        "terms": (F.DAIRY, 24, "500.00", "1200.00", 1, "bidder"),
        "keywords": "精准饲喂，乳蛋白，全混合日粮，智慧牧场",
        "background": "我区生鲜乳乳蛋白含量与国际先进水平仍有差距，饲料转化效率偏低，影响高端乳制品原料供给。"
        "需融合个体识别、精准营养和日粮配制技术，提升奶牛单产和乳品质。",
        "tasks": "基于本地饲草资源的精准营养需要模型；奶牛个体识别与精准饲喂装备研发；万头牧场集成示范与效果评价",
        "targets": "牛奶乳蛋白含量 >= 3.4 %；成母牛年单产 >= 12 吨；饲料转化效率提高 >= 8 %；示范牧场存栏 >= 10000 头",
    },
    {
        "ref": (CUR, 8, "乳业振兴专项", "dairy", [], S.DRAFT, 60),
        "title": "国产干酪发酵剂菌种选育与马苏里拉干酪产业化",
        "terms": (F.DAIRY, 30, "600.00", "1500.00", 1, "bidder"),
        "keywords": "干酪，发酵剂，乳酸菌，菌种资源",
        "background": "我国干酪消费快速增长，但干酪发酵剂几乎全部依赖进口，成为乳业“卡脖子”环节。"
        "内蒙古传统奶食品中蕴藏丰富的乳酸菌资源，具备选育自主发酵剂菌种的基础。",
        "tasks": "传统奶食品乳酸菌资源挖掘与功能评价；直投式发酵剂高密度培养与冻干技术；马苏里拉干酪规模化生产工艺验证",
        "targets": "自主知识产权菌株 >= 5 株；发酵剂活菌数 >= 100 亿CFU/g；干酪生产线产能 >= 5000 吨/年；"
        "进口发酵剂替代率 >= 50 %",
    },
    {
        "ref": (CUR, 9, "乳业振兴专项", "dairy", [], S.DRAFT, 50),
        "title": "乳清蛋白与乳糖梯级分离高值化利用技术",
        "terms": (F.DAIRY, 24, "450.00", "1000.00", 1, "bidder"),
        "keywords": "乳清，乳清蛋白，乳糖，膜分离",
        "background": "干酪和酪蛋白生产产生大量乳清，目前多作为低值饲料或废水处理，资源浪费且环保压力大。"
        "需开发乳清蛋白与乳糖梯级分离技术，实现乳清高值化利用。",
        "tasks": "乳清蛋白超滤浓缩与纯化工艺研究；乳糖结晶与母液综合利用技术研究",
        "targets": "乳清蛋白回收率 >= 90 %；乳清蛋白纯度 >= 80 %；乳糖结晶收率 >= 85 %",
        "reason": "考核指标缺少废水排放要求，“乳清蛋白纯度”未注明检测方法；企业出资1000万元请附董事会决议。"
        "请补充后重新提交。",
    },
    {
        "ref": (CUR, 10, "乳业振兴专项", "dairy", [], S.PENDING, 55),
        "title": "生鲜乳质量安全快速检测与全程追溯技术",
        "terms": (F.DAIRY, 24, "300.00", "600.00", 1, "bidder"),
        "keywords": "生鲜乳，快速检测，兽药残留，质量追溯",
        "background": "生鲜乳收购环节检测项目多、耗时长，难以满足大规模收奶的实时放行需求。"
        "需研发多指标快速检测设备，并与牧场、运输、加工环节数据贯通，实现全程追溯。",
        "tasks": "兽药残留与真菌毒素多指标快速检测方法；便携式检测设备研制；生鲜乳全程追溯平台建设与应用",
        "targets": "同时检测项目数 >= 20 项；单样检测时间 <= 15 min；兽药残留检出限 <= 1 μg/kg；追溯信息覆盖率 = 100 %",
    },
    {
        "ref": (CUR, 11, "乳业振兴专项", "dairy", [], S.WITHDRAWN, 40),
        "title": "常温酸奶后杀菌工艺优化与风味保持技术",
        "terms": (F.DAIRY, 24, "300.00", "500.00", 1, "bidder"),
        "keywords": "常温酸奶，后杀菌，风味物质，货架期",
        "background": "常温酸奶后杀菌过程中风味物质损失明显，产品口感与低温酸奶差距较大。"
        "需优化杀菌工艺与稳定剂体系，在保证货架期的前提下保持风味。",
        "tasks": "后杀菌温度—时间组合优化与风味物质保护；稳定剂体系与包装工艺改进",
        "targets": "风味物质保留率 >= 85 %；产品货架期 >= 180 天；蛋白质含量 >= 3.0 %",
        "reason": "该技术难题已由企业自主研发团队突破，需求不再存在，申请撤回榜单。",
    },
    {
        "ref": (CUR, 12, "生态环保与防沙治沙专项", "eco", ["grass_inst"], S.PUBLISHED, 40),
        "title": "科尔沁沙地“光伏+治沙”生态修复与草牧业协同技术",
        "terms": (F.ECOLOGY, 36, "700.00", "1500.00", 1, "shared"),
        "keywords": "光伏治沙，生态修复，板下种植，草牧业",
        "background": "沙区光伏电站建设为防沙治沙提供了新路径，但板间风蚀、组件积灰和板下植被恢复难等问题突出。"
        "需研究光伏阵列与植被恢复、草牧业利用协同的技术模式。",
        "tasks": "光伏阵列区风沙运动规律与防护技术；板下耐阴耐旱植物配置与种植技术；"
        "“光伏+治沙+牧草”协同模式示范与效益评价",
        "targets": "沙地植被覆盖度 >= 40 %；示范区面积 >= 20000 亩；组件积灰发电损失 <= 3 %；"
        "土壤有机质含量提高 >= 20 %",
    },
    {
        "ref": (CUR, 13, "煤炭清洁高效利用专项", "storage_lab", [], S.PUBLISHED, 50),
        "title": "煤电机组熔盐储热深度调峰关键技术与示范",
        "terms": (F.CLEAN_COAL, 30, "800.00", "2000.00", 1, "shared"),
        "keywords": "煤电灵活性，熔盐储热，深度调峰，新能源消纳",
        "background": "煤电仍是内蒙古电力系统的“压舱石”，新能源大规模并网要求煤电机组具备更强的深度调峰能力。"
        "熔盐储热可解耦机组热电出力，但与锅炉、汽轮机系统的耦合设计与运行控制尚缺乏工程验证。",
        "tasks": "熔盐储热与煤电机组热力系统耦合方案设计；大容量熔盐储换热装置研制；深度调峰协调控制策略与工程示范",
        "targets": "最低稳燃负荷率 <= 30 %；熔盐储热容量 >= 1000 MWh；储热系统热效率 >= 90 %；"
        "负荷调节速率 >= 3 %Pe/min",
    },
]

# The services each final status is reached through, in order. A call bound for a review stage
# stops at "close" here (REVIEW_STAGES): reviews.demo.seed_reviews moves it on through reviews.decisions.
REVIEW_STAGES = {S.UNDER_REVIEW, S.IN_NOTICE, S.AWARDED, S.FAILED}
PATHS = {
    S.DRAFT: [],
    S.PENDING: ["submit"],
    S.PUBLISHED: ["submit", "approve"],
    S.WITHDRAWN: ["submit", "withdraw"],
    S.CLOSED: ["submit", "approve", "close"],
    **dict.fromkeys(REVIEW_STAGES, ["submit", "approve", "close"]),
}


def _at_five(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(17)), timezone.get_default_timezone())


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _conditions(p: Programme, winners: int) -> str:
    """Conditions for bidders, stated from the programme's own settings."""
    parts = [
        "揭榜方须为依法登记、具有独立法人资格的企业、高校、科研院所或新型研发机构，可牵头组建创新联合体揭榜。",
        "牵头单位须在内蒙古自治区内注册。" if p.lead_must_be_in_region else "",
        f"联合体中区内单位数量占比不低于{_num(p.min_in_region_share)}%。",
        "联合体中须至少有一家区内科研院所。" if p.in_region_institute_required else "",
        f"揭榜方自筹资金与申请财政资金之比不低于{_num(p.matching_ratio)}:1。",
        f"项目负责人同一年度在本专项中限牵头{p.pi_active_limit}项；牵头单位、参与单位及项目负责人无科研失信记录。",
        f"本榜单采用赛马制，最多支持{winners}个创新联合体并行攻关，中期考核后择优持续支持。" if winners > 1 else "",
    ]
    return "".join(parts)


def _programme(name: str, year: int) -> tuple[Programme, bool]:
    description, settings = PROGRAMMES[name]
    with transaction.atomic():
        programme, created = Programme.objects.get_or_create(
            name=name, year=year, defaults={"description": description, **settings}
        )
        if created:
            record(actor=None, action="programme.create", obj=programme, after=snapshot(programme))
    return programme, created


def _issuer_user(key: str, org: Organization) -> tuple[User, bool]:
    username, display_name, phone = ISSUERS[key]
    if username == "issuer":  # created by seed_demo itself
        return User.objects.get(username=username), False
    return ensure_user(
        actor=None,
        username=username,
        password=DEMO_PASSWORD,
        display_name=display_name,
        email=f"{username}@demo.jiebang.local",
        phone=phone,
        organization=org,
        is_issuer=True,
    )


def _create(item: dict, programme: Programme, orgs: dict, users: dict, admin: User, today: date) -> Call:
    year_offset, number, _name, issuer_key, co_keys, status, when = item["ref"]
    field, months, cap, contribution, winners, ip = item["terms"]
    if isinstance(when, int):
        deadline = _at_five(today + timedelta(days=when))
    else:
        deadline = _at_five(date(programme.year, *when))
    # A draft with a reason is one that was submitted and returned.
    steps = ["submit", "return"] if status == S.DRAFT and item.get("reason") else PATHS[status]
    past = deadline <= timezone.now()
    if past != ("close" in steps):
        raise ValueError(f"{item['title']}: the deadline does not fit the status {status}")
    user, reason = users[issuer_key], item.get("reason", "")
    actions = {
        "submit": lambda c: services.submit_call(actor=user, call=c),
        "return": lambda c: services.return_call(actor=admin, call=c, reason=reason),
        "withdraw": lambda c: services.withdraw_call(actor=user, call=c, reason=reason),
        "approve": lambda c: services.approve_call(actor=admin, call=c),
        "close": lambda c: services.close_call(actor=None, call=c),
    }
    _username, contact_name, phone = ISSUERS[issuer_key]
    fields = {
        "code": f"JB-{programme.year}-{number:03d}",
        "title": item["title"],
        "field": field,
        "keywords": item["keywords"],
        "background": item["background"],
        "research_tasks": "\n".join(f"{i}. {task}。" for i, task in enumerate(item["tasks"].split("；"), start=1)),
        "period_months": months,
        "fiscal_cap": Decimal(cap),
        "issuer_contribution": Decimal(contribution),
        "support_mode": SupportMode.HORSE_RACE if winners > 1 else SupportMode.SINGLE,
        "max_winners": winners,
        "bidder_conditions": _conditions(programme, winners),
        "ip_terms": IP_TERMS[ip],
        # A call that ends up closed is published while still open; its deadline is moved back later.
        "deadline": _at_five(today + timedelta(days=30)) if past else deadline,
        "bureau_deadline": deadline - timedelta(days=item["bureau"]) if "bureau" in item else None,
        "contact_name": contact_name,
        "contact_phone": phone,
        "contact_email": user.email,
    }
    targets = [
        dict(zip(("name", "comparator", "value", "unit"), target.split(), strict=True))
        for target in item["targets"].split("；")
    ]
    with transaction.atomic():
        call = services.create_call(
            actor=user, programme=programme, issuer=orgs[issuer_key], fields=fields, targets=targets
        )
        if co_keys:
            # No service sets co-issuers yet: set them here and audit it like an edit of the draft.
            call.co_issuers.set([orgs[k] for k in co_keys])
            record(
                actor=user,
                action="call.update",
                obj=call,
                before={"co_issuers": []},
                after={"co_issuers": sorted(orgs[k].pk for k in co_keys)},
            )
        for step in steps:
            if step == "close":
                Call.objects.filter(pk=call.pk).update(deadline=deadline)  # demo history
            call = actions[step](call)
    return call


def seed_calls(stdout) -> int:
    """Create the demo programmes, extra issuer accounts and calls; return how many were created."""
    today = timezone.localdate()
    orgs = {key: Organization.objects.get(name=ORG_NAMES[key]) for key in ISSUERS}
    orgs.update({key: Organization.objects.get(name=ORG_NAMES[key]) for item in CALLS for key in item["ref"][4]})
    admin = User.objects.get(username="admin")
    new_programmes = new_users = new_calls = 0
    programmes = {}
    for year in (today.year - 1, today.year):
        for name in PROGRAMMES:
            programmes[name, year], created = _programme(name, year)
            new_programmes += created
    users = {}
    for key in ISSUERS:
        users[key], created = _issuer_user(key, orgs[key])
        new_users += created
    for item in CALLS:
        programme = programmes[item["ref"][2], today.year + item["ref"][0]]
        if Call.objects.filter(code=f"JB-{programme.year}-{item['ref'][1]:03d}").exists():
            continue
        _create(item, programme, orgs, users, admin, today)
        new_calls += 1
    extra = ", ".join(username for username, *_rest in ISSUERS.values() if username != "issuer")
    stdout.write(
        f"Demo calls: {new_programmes} programmes, {new_users} issuer accounts and {new_calls} calls created "
        f"({Call.objects.count()} calls in total; extra issuer logins {extra}, same demo password).\n"
    )
    return new_programmes + new_users + new_calls
