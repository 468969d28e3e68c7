"""Reference data: Inner Mongolia's 12 league/city units (盟市) and provinces."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.TextChoices):
    HOHHOT = "hohhot", "呼和浩特市"
    BAOTOU = "baotou", "包头市"
    HULUNBUIR = "hulunbuir", "呼伦贝尔市"
    HINGGAN = "hinggan", "兴安盟"
    TONGLIAO = "tongliao", "通辽市"
    CHIFENG = "chifeng", "赤峰市"
    XILINGOL = "xilingol", "锡林郭勒盟"
    ULANQAB = "ulanqab", "乌兰察布市"
    ORDOS = "ordos", "鄂尔多斯市"
    BAYANNUR = "bayannur", "巴彦淖尔市"
    WUHAI = "wuhai", "乌海市"
    ALXA = "alxa", "阿拉善盟"
    OUT_OF_REGION = "out", _("Out of region (区外)")


LEAGUES_AND_CITIES = [choice for choice in Region if choice != Region.OUT_OF_REGION]

# Provinces other than Inner Mongolia, for out-of-region units.
PROVINCES = [
    "北京市",
    "天津市",
    "河北省",
    "山西省",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "上海市",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "广西壮族自治区",
    "海南省",
    "重庆市",
    "四川省",
    "贵州省",
    "云南省",
    "西藏自治区",
    "陕西省",
    "甘肃省",
    "青海省",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "香港特别行政区",
    "澳门特别行政区",
    "台湾省",
]
