from django.db import models
from django.utils.translation import gettext_lazy as _


class CallStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending approval")
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Closed")
    UNDER_REVIEW = "under_review", _("Under review")
    IN_NOTICE = "in_notice", _("In public notice")
    AWARDED = "awarded", _("Awarded")
    FAILED = "failed", _("Failed (no winner)")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# States the public may see: everything from publication on.
PUBLIC_STATUSES = [
    CallStatus.PUBLISHED,
    CallStatus.CLOSED,
    CallStatus.UNDER_REVIEW,
    CallStatus.IN_NOTICE,
    CallStatus.AWARDED,
    CallStatus.FAILED,
]


class SupportMode(models.TextChoices):
    SINGLE = "single", _("Single winner")
    HORSE_RACE = "horse_race", _("Horse race (赛马制)")


class TechField(models.TextChoices):
    NEW_ENERGY = "new_energy", "新能源"
    ENERGY_STORAGE = "energy_storage", "新型储能"
    CLEAN_COAL = "clean_coal", "煤炭清洁高效利用"
    RARE_EARTH = "rare_earth", "稀土新材料"
    DAIRY = "dairy", "乳业"
    SEED = "seed", "种业"
    GRASSLAND = "grassland", "草业"
    BIOMEDICINE = "biomedicine", "生物医药"
    EQUIPMENT = "equipment", "装备制造"
    ECOLOGY = "ecology", "生态环保与防沙治沙"
    DIGITAL = "digital", "数字经济"
    COAL_CHEMICAL = "coal_chemical", "现代煤化工"


class Comparator(models.TextChoices):
    AT_LEAST = ">=", "≥"
    AT_MOST = "<=", "≤"
    EQUAL = "=", "="


class Aggregation(models.TextChoices):
    MEAN = "mean", _("Mean")
    TRIMMED_MEAN = "trimmed_mean", _("Trimmed mean (drop highest and lowest)")


class NoticeDayKind(models.TextChoices):
    CALENDAR = "calendar", _("Calendar days")
    WORKING = "working", _("Working days")


class AmendmentKind(models.TextChoices):
    DEADLINE_EXTENSION = "deadline", _("Deadline extension")
    CLARIFICATION = "clarification", _("Clarification")
