from django.db import models
from django.utils.translation import gettext_lazy as _


class ExpertType(models.TextChoices):
    TECHNICAL = "technical", _("Technical (技术)")
    MANAGEMENT = "management", _("Management (管理)")
    FINANCE = "finance", _("Finance (财务)")


class ConflictReason(models.TextChoices):
    EMPLOYER_UNIT = "employer_unit", _("Employer (now or within 3 years) is a consortium unit")
    EMPLOYER_ISSUER = "employer_issuer", _("Employer (now or within 3 years) issued the call")
    ON_TEAM = "on_team", _("The expert is on the proposal's team")
    AVOID_UNIT = "avoid_unit", _("The expert's avoid-list names a consortium unit")
    AVOID_PERSON = "avoid_person", _("The expert's avoid-list names a team member")
    UNSUITABLE = "unsuitable", _("The applicant named the expert as unsuitable")
    NAME_MATCH = "name_match", _("Name-only match with a team member (possible)")
    RELATIVE = "relative", _("Declared: relative")
    TEACHER_STUDENT = "teacher_student", _("Declared: teacher and student")
    COAUTHOR = "coauthor", _("Declared: co-author within 3 years")
    COPROJECT = "coproject", _("Declared: joint project within 3 years")
    OTHER = "other", _("Declared: other conflict")


DECLARED_REASONS = [
    ConflictReason.RELATIVE,
    ConflictReason.TEACHER_STUDENT,
    ConflictReason.COAUTHOR,
    ConflictReason.COPROJECT,
    ConflictReason.OTHER,
]


class ConflictStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Conflict")
    POTENTIAL = "potential", _("Possible conflict, awaiting decision")
    DISMISSED = "dismissed", _("Dismissed by an administrator")
