"""Demo proposals for ``seed_demo``: every proposal status reachable before expert review.

Everything goes through ``proposals.services`` so the audit trail records it. Services refuse
changes after a call's deadline, so a call that is already closed (or later) is demo history:
its deadline and status are moved back to "published" with a plain update while its proposals
are built, submitted and reviewed, and restored afterwards (also when something fails).
"""

import hashlib
import logging
import re
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, ORGANISATIONS, credit_code
from accounts.models import Organization, OrganizationType, Region, User
from accounts.services import ensure_organization, ensure_user
from calls.choices import CallStatus
from calls.models import Call
from proposals import services
from proposals.choices import AttachmentKind, FundingSource, TeamRole, UnitRole
from proposals.models import Proposal
from proposals.validators import id_check_character


def _pairs(text: str) -> dict:
    words = text.split()
    return dict(zip(words[::2], words[1::2], strict=True))


T, R = OrganizationType, Region
# Units beyond accounts.demo: key, name, credit code parts (department+type, region, organisation), type, region
NEW_ORGS = [
    ("power", "内蒙古能源电力科学研究院有限公司", ("91", "150100", "MA0P6R2K3"), T.ENTERPRISE, R.HOHHOT),
    ("battery", "包头恒能储能科技有限公司", ("91", "150200", "MA0F7B5N4"), T.ENTERPRISE, R.BAOTOU),
    ("wind", "乌兰察布风光储能装备有限公司", ("91", "150900", "MA0W3L8T6"), T.ENTERPRISE, R.ULANQAB),
    ("re_inst", "包头稀土应用技术研究院", ("52", "150200", "MJY7K3Q19"), T.NEW_RND, R.BAOTOU),
    ("dairy_tech", "内蒙古乳品工程技术研究院有限公司", ("91", "150100", "MA0X4T9P2"), T.NEW_RND, R.HOHHOT),
    ("hetao", "巴彦淖尔河套农业科学研究院", ("12", "150800", "46008371K"), T.INSTITUTE, R.BAYANNUR),
    ("corn", "通辽金穗玉米种业有限公司", ("91", "150500", "MA0J9C4E7"), T.ENTERPRISE, R.TONGLIAO),
    ("xingan", "兴安盟丰谷种业有限公司", ("91", "152200", "MA0H5G2D8"), T.ENTERPRISE, R.HINGGAN),
]
# Applicant login per unit: a seed_demo user, or an extra account "applicant-<unit>" (unit, display name).
APPLICANTS = {"seed": "applicant", "ag_univ": "partner", "grass_inst": "expert7"}
EXTRA_APPLICANTS = _pairs(
    "power 赵立群 battery 钱文静 wind 孙志刚 re_inst 李红梅 dairy_tech 周雅丽 hetao 吴海青 corn 郑国富 "
    "xingan 王桂兰 hulun_dairy 乌日娜 coal_chem 冯建设 cas_inst 陈晓东"
)
# ID number region prefix (GB/T 2260) by the unit's league/city, or by province for out-of-region units.
DISTRICTS = _pairs(
    "hohhot 150102 baotou 150203 hulunbuir 150702 hinggan 152201 tongliao 150502 chifeng 150404 "
    "ulanqab 150902 ordos 150602 bayannur 150802 wuhai 150302 北京市 110108 江苏省 320102"
)
FEMALE = set("芳丽娜静燕霞敏婷雪梅英红玲琴慧秀娟颖萍洁莉兰娃晶月莲")
# Budget split over the programme's categories (equipment, operating, labour, indirect), per source.
SPLIT = {FundingSource.FISCAL: (30, 45, 15, 10), FundingSource.SELF_RAISED: (50, 35, 10, 5)}
PHASES = ["完成方案设计与关键参数实验室验证", "取得阶段性成果，形成中期研究报告", "完成中试或示范应用"]
CHECKS = ["阶段研究报告，专家组会议评审", "中期考核，现场查验实验数据和样品", "示范现场测试及用户应用证明"]
FINAL = ("全部考核指标达到承诺值，提交验收材料", "第三方检测报告及专家组现场验收")
COUNTS = {"个", "株", "种", "项", "次", "头"}
NOTE = "分阶段攻关，验收时由第三方检测机构按国家或行业标准检测确认"
PDF_TEXT = {
    AttachmentKind.INTEGRITY_PLEDGE: ("科研诚信承诺书", "本单位承诺所填报材料真实、准确、完整，严格遵守科研诚信规范。"),
    AttachmentKind.MATCHING_FUNDS: ("自筹资金承诺函", "本联合体承诺自筹资金{self}万元，按项目进度及时足额到位。"),
    AttachmentKind.CONSORTIUM_AGREEMENT: ("联合体协议", "各方按揭榜方案约定分工协作、共享成果、共担风险。"),
}
FIELDS = {"路线：": "route", "风险：": "risks", "分工：": "units", "团队：": "team", "理由：": "reason"}

# One proposal: "<programme year offset>/<call number> <lead unit> <final state> <fiscal> <self-raised> <title>"
# (万元), then its fields; a line without a field label continues the previous one.
# States: draft, submitted, passed, returned, rejected, withdrawn (reason: 理由), and two drafts whose
# submission is refused: limit (application limit) and ineligible (whose first target is also missed).
# 分工: "lead task|member budget-share task|…" ("?" before a member: not confirmed yet).
# 团队: "name[@unit index] 职称 months duty|…"; the first is the PI, the next two core members.
PROPOSALS = """
-1/1 power passed 1000 2600 百兆瓦时级构网型储能电站关键技术研究与鄂尔多斯示范
路线：采用“电芯—电池簇—变流器—电站”全链条协同设计思路，以长寿命磷酸铁锂电芯和构网型变流器为核心。
通过虚拟同步控制与电站级能量管理，实现惯量支撑、一次调频和黑启动功能。
风险：电芯循环寿命验证周期长，拟采用加速老化试验与实证数据相结合的方法评估；
并网考核受调度安排影响，已与电网公司签订示范合作协议。
分工：总体设计、构网控制策略与示范电站集成|battery 1200 长寿命电芯及电池簇研制
团队：苏振东 正高级工程师 10 总体负责|韩冬梅 高级工程师 8 构网控制策略|乔永刚@1 高级工程师 8 电芯与电池簇研制|
曹佳琪 工程师 6 示范电站调试
-1/1 wind passed 900 2000 构网型储能变流器及长寿命储能系统研制与示范
路线：以自主研发的构网型储能变流器为突破口，开发多机并联虚拟同步控制算法。
联合电芯企业开展长寿命磷酸铁锂电芯定制与热管理优化，在乌兰察布风光储基地建设示范系统。
风险：多机并联振荡风险通过硬件在环仿真提前验证；电芯供货风险已与两家供应商签订框架协议。
分工：变流器研制、系统集成与示范
团队：包志刚 正高级工程师 9 总体负责|任晓峰 高级工程师 8 变流器硬件设计|孟丽娜 高级工程师 7 控制算法|
郭建波 工程师 6 热管理与系统测试
-1/2 re_inst passed 800 1900 低重稀土高矫顽力烧结钕铁硼磁体制备及风电应用
路线：采用晶界扩散与主相晶粒细化相结合的技术路线，以低镝铽用量实现高矫顽力。
通过氢破—气流磨—取向成型—烧结全流程工艺优化建设千吨级示范线，并在直驱风电机组中装机验证。
风险：晶界扩散均匀性影响批次稳定性，拟引入在线磁性能检测；重稀土价格波动大，已建立原料储备机制。
分工：材料设计、扩散工艺与示范线建设|wind 500 风电机组装机验证
团队：白玉山 研究员 10 总体负责|阎志华 副研究员 8 晶界扩散工艺|那日苏 高级工程师 7 示范线建设|
田婷@1 高级工程师 5 装机验证
-1/3 dairy_tech passed 400 900 乳铁蛋白低温膜分离纯化工艺开发及产业化
路线：以呼伦贝尔优质生鲜乳为原料，采用低温微滤除菌与阳离子交换层析耦合的纯化路线。
通过低温喷雾干燥与保护剂配方优化减少活性损失。
风险：树脂吸附容量衰减影响回收率，拟建立树脂再生与寿命监测规程；产品上市需办理相关许可，已提前准备。
分工：工艺研发、装备选型与示范线建设
团队：斯琴高娃 研究员 9 总体负责|程立伟 高级工程师 8 膜分离工艺|邢晓敏 工程师 6 质量检测
-1/3 ag_univ passed 380 800 高活性乳铁蛋白分离纯化与活性保持关键技术
路线：以低温分离和活性保持为主线，研究乳铁蛋白在分离、浓缩和干燥环节的变性机理。
采用磁性亲和吸附材料替代传统离子交换树脂，提高选择性和回收率。
风险：磁性吸附材料放大制备存在批次差异，拟与材料企业联合开发；中试条件有限，拟租用合作企业生产线。
分工：机理研究、吸附材料开发与中试验证
团队：李春华 教授 9 总体负责|宋雅琴 副教授 7 吸附材料|张宏伟 讲师 6 中试试验
-1/4 ag_univ passed 600 1300 科尔沁沙地乡土草种快速建植与生物—机械协同固沙技术
路线：以乡土草种筛选为基础，构建“先固后封、草灌结合”的植被恢复模式。
在流动沙丘采用生物沙障与可降解机械沙障协同固沙，配合无人机补播和围封管护。
风险：极端干旱年份出苗率低，拟采用种子丸粒化和雨季抢播；放牧干扰示范区，拟与嘎查签订管护协议。
分工：草种筛选、恢复模式集成与成效监测|hetao 300 沙障材料与固沙技术
团队：乌云毕力格 教授 10 总体负责|赵雪莲 副教授 8 乡土草种筛选|刘志军@1 研究员 7 沙障材料|孙海龙 讲师 6 成效监测
0/2 battery passed 600 1500 高寒地区宽温域钠离子电池储能系统研制与风光场站示范
路线：采用层状氧化物正极与硬碳负极体系，开发低温电解液和自加热电池模组。
通过电池簇级热管理与智能运维平台，在风光储场站开展零下30摄氏度冬季运行验证。
风险：低温循环寿命数据积累不足，拟在环境舱开展加速试验；硬碳负极成本偏高，拟合作开发煤基硬碳。
分工：电芯及模组研制、系统集成|power 350 场站示范与并网测试
团队：杨文博 高级工程师 10 总体负责|吕娜 高级工程师 8 低温电解液|王振宇@1 正高级工程师 6 并网测试|
贺晓东 工程师 6 电池管理系统
0/2 wind passed 550 1200 风光储场站用宽温域钠离子电池储能装备研制
路线：以储能装备高寒适应性为核心，开发钠离子电池舱的保温、自加热和防凝露结构。
研制适配钠离子电池宽电压范围的储能变流器，在乌兰察布风光储基地开展全年运行考核。
风险：钠离子电芯供应链尚不成熟，拟同时验证两家电芯产品；极寒天气影响调试，拟提前在环境舱完成型式试验。
分工：电池舱与变流器研制、场站示范
团队：高建军 正高级工程师 9 总体负责|庞晓丽 高级工程师 8 电池舱结构|石磊 工程师 7 变流器设计
0/4 re_inst passed 500 1200 高容量长寿命稀土储氢合金及50 kg级固态储氢装置
路线：以La—Y—Ni系超晶格储氢合金为主攻方向，通过成分设计和退火工艺调控提高储氢容量与循环稳定性。
研制内置翅片换热的固态储氢罐，与风光制氢系统耦合开展示范运行。
风险：合金粉化影响循环寿命，拟采用表面包覆与颗粒级配技术；示范运行安全要求高，拟开展第三方安全评估。
分工：合金研发与储氢装置研制|wind 300 风光制氢系统耦合示范
团队：高志远 研究员 10 总体负责|崔丽芳 副研究员 8 合金成分设计|杜鹏飞 工程师 6 储氢罐结构|
武海军@1 高级工程师 5 制氢系统耦合
0/4 battery passed 480 1000 稀土储氢合金固态储氢装置研制及氢储能应用
路线：以AB5型稀土储氢合金为基础，采用稀土元素部分替代和熔体快淬工艺提高吸放氢动力学性能。
研制模块化固态储氢装置，并与燃料电池备用电源集成开展应用验证。
风险：放氢温度达标难度较大，拟利用燃料电池余热辅助放氢；快淬设备产能有限，拟委托专业厂家代工。
分工：合金制备、装置研制与应用验证
团队：秦海波 正高级工程师 9 总体负责|姜红 高级工程师 8 合金制备|邓飞 工程师 6 装置测试
0/6 hetao passed 400 850 高产优质抗寒紫花苜蓿新品种选育及种子扩繁
路线：以收集的320份抗寒苜蓿种质为基础，采用表型精准鉴定与全基因组选择相结合的育种策略。
在河套灌区和呼伦贝尔建立多点品比试验，同步开展种子田水肥调控和扩繁技术研究。
风险：越冬率年际波动大，拟增加试验年份和试点；新品种审定周期长，拟尽早进入区域试验。
分工：种质鉴定、新品系选育与种子扩繁|ag_univ 200 全基因组选择与分子标记|cas_inst 150 抗寒生理机制与多点试验
团队：王宏伟 研究员 10 总体负责|张美玲 副研究员 8 品比试验|陈国栋@1 教授 6 分子育种|刘海燕@2 研究员 4 抗寒生理
0/6 seed submitted 360 760 抗寒高产苜蓿新品种选育与产业化示范
路线：发挥企业制种基地和市场渠道优势，联合高校开展抗寒苜蓿杂交选育。
利用赤峰、通辽两个育种站进行多点鉴定，建立“育繁推一体化”种子生产体系。
风险：企业育种人才不足，拟由高校派驻骨干常驻育种站；制种受气候影响，拟建立备份制种基地。
分工：品系选育、制种基地建设与推广|ag_univ 160 杂交育种与品质分析
团队：马兴旺 高级农艺师 10 总体负责|于淑华 农艺师 8 育种站管理|许振国@1 教授 6 杂交育种|王晶@1 副教授 5 品质分析
0/6 corn rejected 400 820 青贮玉米与苜蓿间作高产优质饲草生产技术
路线：针对奶牛养殖对优质饲草的需求，开展青贮玉米与苜蓿间作模式研究。
通过品种搭配、播期调整和水肥一体化管理，提高单位面积饲草产量和蛋白质含量。
风险：间作模式机械化收获难度大，拟改装现有收获机械。
分工：间作模式研究与示范|ag_univ 120 饲草品质检测
团队：李德胜 高级农艺师 9 总体负责|周丽 农艺师 7 田间试验|韩志鹏@1 副教授 5 品质检测
理由：揭榜方案以青贮玉米与苜蓿间作栽培为主，未涉及榜单要求的抗寒紫花苜蓿新品种选育，与榜单任务不符，不予通过形式审查。
0/1 battery submitted 900 2000 250 kW级全钒液流电池电堆及百兆瓦级长时储能系统
路线：采用高功率密度电堆设计，开发薄型双极板、低阻复合膜和均匀流场结构，提高电堆功率与能量效率。
利用包头钒资源制备高浓度稳定电解液，并构建容量衰减在线再平衡系统。
风险：复合膜长期稳定性存在不确定性，拟同步验证两种隔膜；电解液成本受钒价影响，拟采用电解液租赁模式。
分工：电堆与电解液研发、系统集成|power 400 储能系统并网与运行评价
团队：乔振华 正高级工程师 10 总体负责|董雅婷 高级工程师 8 电堆设计|孔繁宇 工程师 7 电解液制备|
邱立新@1 高级工程师 5 并网评价
0/1 wind withdrawn 850 1800 全钒液流电池长时储能系统集成与风光储示范
路线：以系统集成为重点，采购成熟电堆开展百兆瓦级液流电池储能系统设计与能量管理策略研究。在乌兰察布风光储基地开展示范。
风险：电堆依赖外部采购，功率指标达成存在风险。
分工：系统集成与示范
团队：邬建国 高级工程师 9 总体负责|何莉 工程师 7 能量管理|冯志强 工程师 6 系统设计
理由：联合体电堆供应单位退出，经研究决定撤回本揭榜方案。
# The PI already leads a proposal in this programme year (JB-…-004): refused under the application limit.
0/3 re_inst limit 950 2100 高丰度镧铈永磁材料双主相调控及高效电机应用
路线：采用双主相合金设计，以镧铈部分替代镨钕，通过晶界重构抑制镧铈带来的磁性能下降。
联合电机企业开展高效永磁电机设计与样机测试，形成镧铈永磁材料应用规范。
风险：镧铈替代比例提高会降低矫顽力，拟采用晶界扩散补偿；电机验证需整机企业配合，拟签订合作协议。
分工：材料研发、磁体制备与电机应用验证
团队：高志远 研究员 10 总体负责|樊晓红 副研究员 8 双主相合金设计|梁宇 工程师 6 电机测试
# The demo applicant's draft: its university has not confirmed yet and the self-raised funds are too low.
0/5 seed draft 760 1300 耐密抗逆宜机收玉米新品种选育及西辽河流域示范
路线：以企业积累的1200余份玉米自交系为基础，聚焦耐密、抗倒和籽粒脱水快三个性状。
采用双单倍体快速育种与分子标记辅助选择相结合，缩短育种周期，在赤峰、通辽建立宜机收品种测试网络。
风险：耐密与高产性状存在负相关，拟通过多环境测试平衡选择；品种审定存在不确定性，拟推进两个以上候选品种参试。
分工：育种材料创制、品种测试与示范推广|?ag_univ 300 双单倍体诱导与分子标记开发
团队：孟庆丰 高级农艺师 10 总体负责|刘晓燕 农艺师 6 项目管理与测试网络|杨志明@1 教授 6 分子标记开发|
吴雅婷@1 副教授 5 双单倍体诱导
0/5 corn passed 800 1700 西辽河流域耐密宜机收玉米新品种选育与产业化
路线：依托通辽玉米育种基地，构建“常规育种+分子设计+双单倍体”三位一体育种体系。
重点改良茎秆强度和籽粒脱水速率，并配套水肥一体化密植栽培技术。
风险：极端天气可能影响田间鉴定结果，拟利用南繁基地加代；品种推广受市场竞争影响，拟与合作社签订订单。
分工：品种选育、审定与产业化推广|ag_univ 350 抗倒伏机理与分子设计
团队：金宝山 研究员 10 总体负责|李晓慧 高级农艺师 8 品种测试|赵国庆@1 教授 6 分子设计育种|邵晨 农艺师 6 南繁加代
0/5 hetao submitted 750 1600 河套灌区耐盐碱耐密玉米新品种选育与配套技术
路线：针对河套灌区盐碱地面积大、玉米密植倒伏严重的问题，开展耐盐碱耐密玉米种质创制。
利用高通量表型平台开展苗期耐盐鉴定，结合全基因组选择培育新品种。
风险：盐碱胁迫程度田间差异大，拟建立标准化鉴定池；种质创制周期长，拟引进耐盐种质加快进度。
分工：种质创制、新品种选育与区域试验|grass_inst 260 高通量表型鉴定与盐碱地栽培技术
团队：贾福生 研究员 10 总体负责|郝丽君 助理研究员 8 耐盐鉴定|巴雅尔@1 研究员 5 表型平台|闫振 助理研究员 6 区域试验
0/5 xingan submitted 700 1500 兴安盟早熟耐密玉米新品种选育及籽粒机收技术
路线：面向第四、五积温带，选育生育期短、脱水快、耐密植的早熟玉米品种。
采用育种芯片辅助亲本选配，结合多点联合测试，配套籽粒机收和烘干技术，实现农机农艺融合。
风险：早熟与高产难以兼顾，拟利用热带种质拓宽遗传基础；机收破碎率受品种影响，拟建立破碎率鉴定方法。
分工：品种选育、测试与机收技术示范|ag_univ 280 育种芯片与亲本选配
团队：吴振林 高级农艺师 10 总体负责|胡月 农艺师 7 多点测试|特木尔@1 教授 6 育种芯片|段玉霞@1 副教授 5 籽粒品质分析
0/7 hulun_dairy returned 480 1000 寒地牧场高产奶牛精准饲喂与乳蛋白提升技术
路线：以呼伦贝尔寒地牧场为对象，建立基于本地羊草、苜蓿和青贮玉米的奶牛精准营养需要模型。
研制具有个体识别功能的智能饲喂站，按泌乳阶段动态调整日粮。
风险：冬季饲草品质波动大，拟建立饲草营养成分快速检测；饲喂设备低温可靠性不足，拟加装保温装置。
分工：营养需要模型、智能饲喂与牧场示范|ag_univ 220 日粮配方与乳蛋白调控
团队：阿拉坦仓 高级畜牧师 10 总体负责|刘春燕 畜牧师 8 牧场示范|王建华@1 教授 6 日粮配方|孟婷@1 讲师 6 乳成分检测
理由：自筹资金承诺函未加盖牵头单位公章；参与单位团队成员的年度投入时间与其在研项目冲突。请补正后在截止时间前重新提交。
0/7 grass_inst passed 500 1150 优质饲草精准配制与高产奶牛乳蛋白提升关键技术
路线：发挥草业研究优势，建立苜蓿、燕麦和青贮玉米等本地饲草营养价值数据库。
基于数据库构建动态精准营养模型，研发全混合日粮在线配制系统。
风险：牧场生产数据采集不完整，拟部署物联网传感器自动采集；示范牧场管理变动风险，拟选择两家牧场示范。
分工：饲草营养数据库与精准营养模型|dairy_tech 300 日粮配制系统与牧场示范
团队：韩立新 研究员 9 总体负责|孙玉梅 副研究员 8 饲草营养评价|那仁@1 高级工程师 6 日粮配制系统|
陈思远 助理研究员 6 数据分析
0/12 ag_univ submitted 680 1500 科尔沁沙地光伏阵列区风沙防护与板下植被恢复技术
路线：通过风洞试验和野外观测，揭示光伏阵列区风沙运动规律，优化组件布设和防风固沙带配置。
筛选耐阴耐旱乡土草种开展板下种植，建立“板上发电、板下种草、板间放牧”协同模式。
风险：板下放牧可能损坏设施，拟采用轮牧和围栏管理；组件清洗用水与植被需水矛盾，拟开发节水清洗技术。
分工：风沙运动规律、植被恢复与效益评价|wind 260 光伏阵列优化与清洗技术
团队：张建军 教授 10 总体负责|梁秀英 副教授 8 板下植被恢复|宝音@1 高级工程师 6 光伏阵列优化|何涛 讲师 6 效益评价
# Blacklisted lead, fiscal request over the cap, too little self-raised money, the first target not met.
0/13 coal_chem ineligible 950 1500 煤化工园区熔盐储热耦合深度调峰技术
路线：利用煤化工园区余热资源建设熔盐储热系统，与自备电厂机组耦合实现深度调峰。开发熔盐储热与蒸汽系统的协调控制策略。
风险：熔盐凝固风险需加强伴热设计。
分工：方案设计与工程建设
团队：周宏亮 高级工程师 9 总体负责|田秀兰 工程师 7 储热系统|吕建 工程师 6 控制策略
0/13 power submitted 800 2000 煤电机组熔盐储热深度调峰系统研制与工程示范
路线：以30万千瓦亚临界机组为示范对象，设计抽汽加热熔盐、熔盐放热加热给水的耦合方案。
研制吉瓦时级熔盐储换热装置，开发机组与储热系统的协调控制策略，使最低稳燃负荷降至30%以下。
风险：熔盐冻堵和腐蚀风险，拟采用电伴热和耐蚀材料；示范机组改造需停机窗口，拟结合计划检修实施。
分工：耦合方案设计、装置研制与工程示范
团队：刘振宇 正高级工程师 10 总体负责|赛音 高级工程师 8 熔盐储换热装置|张慧 高级工程师 7 协调控制|王鹏 工程师 6 热力计算
"""


def _rows() -> list[dict]:
    rows, field = [], None
    for line in PROPOSALS.strip().splitlines():
        if line.startswith("#"):
            continue
        if re.match(r"-?\d+/\d+ ", line):
            ref, lead, state, fiscal, raised, title = line.split(" ", 5)
            year, number = map(int, ref.split("/"))
            row = {"year": year, "number": number, "lead": lead, "state": state, "title": title}
            rows.append(row | {"fiscal": Decimal(fiscal), "self": Decimal(raised)})
        elif line[:3] in FIELDS:
            field = FIELDS[line[:3]]
            rows[-1][field] = line[3:]
        else:
            rows[-1][field] += line
    return rows


def _pdf(heading: str, lines: list[str]) -> bytes:
    """A one-page PDF: Chinese text in the standard STSong-Light font (not embedded)."""

    def text(size, y, value):
        return f"BT /F1 {size} Tf 72 {y} Td <{value.encode('utf-16-be').hex().upper()}> Tj ET"

    content = "\n".join([text(20, 770, heading)] + [text(11, 730 - 22 * i, s) for i, s in enumerate(lines)]).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _id_number(name: str, org: Organization) -> str:
    """A valid, stable ID number: the unit's region, a birth date in 1965–1990, the sex digit."""
    prefix = DISTRICTS.get(org.region) or DISTRICTS.get(org.province, "110101")
    h = int(hashlib.sha256(f"{prefix}{name}".encode()).hexdigest(), 16)
    born = date(1965, 1, 1) + timedelta(days=h % 9490)
    sex = (h >> 32) % 5 * 2 + (0 if FEMALE & set(name) else 1)
    first17 = f"{prefix}{born:%Y%m%d}{(h >> 16) % 100:02d}{sex}"
    return first17 + id_check_character(first17)


def _committed(target, k: int, weak: bool) -> Decimal:
    """A value meeting the target with some margin (or missing it, if weak)."""
    v = target.value
    if target.comparator == "=":
        return v
    up = (target.comparator == ">=") != weak
    f = Decimal("0.05") * (1 + k % 3)
    delta = min((100 - v) * Decimal("0.3"), v * f) if target.unit == "%" and up else v * f
    new, rounding = (v + delta, ROUND_CEILING) if up else (v - delta, ROUND_FLOOR)
    whole = v == v.to_integral_value() and (v >= 10 or target.unit in COUNTS)
    return new.quantize(Decimal(1) if whole else Decimal("0.01"), rounding=rounding)


def _budget(programme, fiscal: Decimal, raised: Decimal) -> dict:
    codes, amounts = [c["code"] for c in programme.budget_categories], {}
    for source, total in ((FundingSource.FISCAL, fiscal), (FundingSource.SELF_RAISED, raised)):
        left = total
        for i, code in enumerate(codes):
            share = left if i == len(codes) - 1 else (total * SPLIT[source][i % 4] / 100).quantize(Decimal("0.01"))
            amounts[source, code], left = share, left - share
    return amounts


@contextmanager
def _open(call: Call):
    """The call, published with a future deadline; a past call's deadline and status are restored after."""
    if call.is_open:
        yield call
        return
    original = {"deadline": call.deadline, "status": call.status}
    Call.objects.filter(pk=call.pk).update(deadline=timezone.now() + timedelta(hours=1), status=CallStatus.PUBLISHED)
    try:
        yield Call.objects.select_related("programme").get(pk=call.pk)
    finally:
        Call.objects.filter(pk=call.pk).update(**original)  # demo history


def _content(proposal, row: dict, call: Call, orgs: dict, user: User, k: int) -> list:
    """Fill a new draft: basics, consortium, team, commitments, milestones, budget, attachments."""
    lead_task, *members = row["units"].split("|")
    members = [
        (orgs[key.lstrip("?")], key, Decimal(share), task) for key, share, task in (m.split(" ", 2) for m in members)
    ]
    tasks = [t.split(". ", 1)[-1].rstrip("。") for t in call.research_tasks.splitlines() if t.strip()]
    plan = "；".join(f"课题{'一二三四五'[i]}，{task}" for i, task in enumerate(tasks))
    labour = "".join(f"；{org.name}承担{task}" for org, _key, _share, task in members)
    route = (
        f"{row['route']}围绕榜单任务设置{len(tasks)}个课题：{plan}。{orgs[row['lead']].name}负责{lead_task}{labour}。"
    )
    summary = row["route"].split("。")[0] + "。"
    services.update_basics(
        actor=user, proposal=proposal, title=row["title"], summary=summary, technical_route=route, risks=row["risks"]
    )
    units = [proposal.units.get(role=UnitRole.LEAD)]
    lead_share = row["fiscal"] + row["self"] - sum(share for _org, _key, share, _task in members)
    services.update_unit(actor=user, unit=units[0], task_share=lead_task, budget_share=lead_share)
    for org, _key, share, task in members:
        add = {"credit_code": org.credit_code, "task_share": task, "budget_share": share}
        units.append(services.add_member_unit(actor=user, proposal=proposal, **add))
    for i, spec in enumerate(row["team"].split("|")):
        person, title, months, duty = spec.split(" ", 3)
        name, _at, index = person.partition("@")
        unit = units[int(index or 0)]
        role = TeamRole.PI if i == 0 else TeamRole.CORE if i < 3 else TeamRole.MEMBER
        fields = {"name": name, "unit": unit, "role": role, "months_per_year": months, "title": title, "duty": duty}
        services.set_team_member(actor=user, proposal=proposal, id_number=_id_number(name, unit.organization), **fields)
    weak = row["state"] == "ineligible"
    values = {t.pk: (_committed(t, k, weak and i == 0), NOTE) for i, t in enumerate(call.targets.all())}
    services.set_commitments(actor=user, proposal=proposal, values=values)
    period, steps = call.period_months, list(zip(tasks, PHASES, CHECKS, strict=False))
    milestones = [
        (round(period * (i + 1) / (len(steps) + 1)) - k % 3, f"{t}：{p}", c) for i, (t, p, c) in enumerate(steps)
    ]
    rows = [
        dict(zip(("month", "deliverable", "verification"), m, strict=True)) for m in [*milestones, (period, *FINAL)]
    ]
    services.set_milestones(actor=user, proposal=proposal, rows=rows)
    services.set_budget(actor=user, proposal=proposal, amounts=_budget(call.programme, row["fiscal"], row["self"]))
    kinds = [AttachmentKind.INTEGRITY_PLEDGE, AttachmentKind.MATCHING_FUNDS]
    member_names = "、".join(org.name for org, *_rest in members) or "无"
    for kind in kinds + ([AttachmentKind.CONSORTIUM_AGREEMENT] if members else []):
        heading, body = PDF_TEXT[kind]
        lines = [f"项目名称：{row['title']}", f"榜单编号：{call.code}", f"牵头单位：{orgs[row['lead']].name}"]
        lines += [f"参与单位：{member_names}", body.format(self=row["self"]), "（演示数据，由系统自动生成）"]
        upload = SimpleUploadedFile(f"{heading}.pdf", _pdf(heading, lines), content_type="application/pdf")
        services.add_attachment(actor=user, proposal=proposal, kind=kind, upload=upload)
    return [key for _org, key, _share, _task in members]


def _build(row: dict, call: Call, orgs: dict, users: dict, admin: User, k: int) -> None:
    user, state, reason = users[row["lead"]], row["state"], row.get("reason", "")
    with _open(call) as call, transaction.atomic():
        proposal, _created = services.start_proposal(actor=user, call=call)
        for key in _content(proposal, row, call, orgs, user, k):
            if not key.startswith("?"):
                services.confirm_participation(actor=users[key], proposal=proposal)
        if state == "draft":
            services.check_eligibility(proposal)  # the live checklist, stored
            return
        try:
            proposal = services.submit_proposal(actor=user, proposal=proposal)
        except services.TransitionError:
            if state in ("limit", "ineligible"):
                return  # submit_proposal keeps the failed evaluation on the draft
            raise
        if state in ("limit", "ineligible"):
            raise ValueError(f"{row['title']}: the submission should have been refused")
        if state == "passed":
            services.pass_review(actor=admin, proposal=proposal)
        elif state == "returned":
            services.return_for_correction(actor=admin, proposal=proposal, reason=reason)
        elif state == "rejected":
            services.reject(actor=admin, proposal=proposal, reason=reason)
        elif state == "withdrawn":
            services.withdraw_proposal(actor=user, proposal=proposal, reason=reason)


def seed_proposals(stdout) -> int:
    """Create extra units, applicant accounts and proposals; return how many objects were created.

    Demo history, not events: no notification mail is sent and eager tasks do not log each run.
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
    year = timezone.localdate().year
    orgs = {key: Organization.objects.get(name=name) for key, name, *_rest in ORGANISATIONS}
    new_orgs = new_users = new_proposals = 0
    for key, name, code, org_type, region in NEW_ORGS:
        fields = {"name": name, "org_type": org_type, "region": region}
        orgs[key], created = ensure_organization(actor=None, credit_code=credit_code(*code), **fields)
        new_orgs += created
    users = {key: User.objects.get(username=username) for key, username in APPLICANTS.items()}
    for key, display_name in EXTRA_APPLICANTS.items():
        username = f"applicant-{key.replace('_', '-')}"
        fields = {"display_name": display_name, "email": f"{username}@demo.jiebang.local", "organization": orgs[key]}
        users[key], created = ensure_user(
            actor=None, username=username, password=DEMO_PASSWORD, is_applicant=True, **fields
        )
        new_users += created
    admin = User.objects.get(username="admin")
    for k, row in enumerate(_rows()):
        call = Call.objects.select_related("programme").get(code=f"JB-{year + row['year']}-{row['number']:03d}")
        if Proposal.objects.filter(call=call, lead_organization=orgs[row["lead"]]).exists():
            continue
        _build(row, call, orgs, users, admin, k)
        new_proposals += 1
    logins = ", ".join(f"applicant-{key.replace('_', '-')}" for key in EXTRA_APPLICANTS)
    stdout.write(
        f"Demo proposals: {new_orgs} units, {new_users} applicant accounts and {new_proposals} proposals created "
        f"({Proposal.objects.count()} proposals in total; extra applicant logins {logins}, same demo password).\n"
    )
    return new_orgs + new_users + new_proposals
