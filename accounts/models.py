from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.regions import PROVINCES, Region
from accounts.validators import (
    CHARSET,
    LENGTH,
    is_in_region_code,
    validate_credit_code,
)


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    ISSUER = "issuer", _("Issuer")
    APPLICANT = "applicant", _("Applicant")
    EXPERT = "expert", _("Expert")


class OrganizationType(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    UNIVERSITY = "university", _("University")
    INSTITUTE = "institute", _("Research institute")
    NEW_RND = "new_rnd", _("New-type R&D institution")
    GOVERNMENT = "government", _("Government department")
    OTHER = "other", _("Other")


class CreditStatus(models.TextChoices):
    GOOD = "good", _("Good standing")
    BLACKLISTED = "blacklisted", _("Blacklisted (失信)")


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=LENGTH,
        unique=True,
        help_text=_("18 characters, GB 32100-2015."),
    )
    credit_code_override_reason = models.TextField(
        _("reason for accepting a failing check character"),
        blank=True,
        help_text=_(
            "Some early codes fail the check character. An administrator may accept such a code by recording why."
        ),
    )
    org_type = models.CharField(_("type"), max_length=20, choices=OrganizationType.choices)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices)
    province = models.CharField(
        _("province"),
        max_length=20,
        blank=True,
        choices=[(p, p) for p in PROVINCES],
        help_text=_("Only for out-of-region units."),
    )
    in_region_override = models.BooleanField(
        _("in-region (override)"),
        null=True,
        blank=True,
        help_text=_("Leave empty to derive in-region from the credit code."),
    )
    in_region_override_reason = models.TextField(_("reason for the override"), blank=True)
    credit_status = models.CharField(
        _("credit status"), max_length=20, choices=CreditStatus.choices, default=CreditStatus.GOOD
    )
    blacklist_reason = models.TextField(_("blacklist reason"), blank=True)
    blacklisted_on = models.DateField(_("blacklisted on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def in_region_by_code(self) -> bool:
        return is_in_region_code(self.credit_code)

    @property
    def in_region(self) -> bool:
        if self.in_region_override is not None:
            return self.in_region_override
        return self.in_region_by_code

    @property
    def is_blacklisted(self) -> bool:
        return self.credit_status == CreditStatus.BLACKLISTED

    def clean(self):
        errors = {}
        code = (self.credit_code or "").strip()
        self.credit_code = code
        try:
            validate_credit_code(code)
        except ValidationError as exc:
            structurally_sound = len(code) == LENGTH and all(c in CHARSET for c in code)
            if not (exc.code == "check" and structurally_sound and self.credit_code_override_reason.strip()):
                errors["credit_code"] = exc.messages
        if self.region == Region.OUT_OF_REGION and not self.province:
            errors["province"] = [_("Choose the province of an out-of-region unit.")]
        if self.region and self.region != Region.OUT_OF_REGION and self.province:
            errors["province"] = [_("A unit in one of the 12 leagues and cities has no province.")]
        if self.in_region_override is not None and not self.in_region_override_reason.strip():
            errors["in_region_override_reason"] = [_("Say why the in-region status is overridden.")]
        if "credit_code" not in errors and self.region and self.in_region_override is None:
            in_region_by_region = self.region != Region.OUT_OF_REGION
            if in_region_by_region != self.in_region_by_code:
                errors["region"] = [
                    _(
                        "The region disagrees with the credit code (positions 3–4 are "
                        "“%(digits)s”). Correct it, or record an in-region override with a reason."
                    )
                    % {"digits": code[2:4]}
                ]
        if self.credit_status == CreditStatus.BLACKLISTED:
            if not self.blacklist_reason.strip():
                errors["blacklist_reason"] = [_("A blacklisted unit needs a reason.")]
            if not self.blacklisted_on:
                errors["blacklisted_on"] = [_("A blacklisted unit needs the date of listing.")]
        if errors:
            raise ValidationError(errors)


class User(AbstractUser):
    """A person. Roles are flags because one person may hold several."""

    display_name = models.CharField(_("full name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    is_administrator = models.BooleanField(_("administrator"), default=False)
    is_supervisor = models.BooleanField(_("supervisor"), default=False)
    is_issuer = models.BooleanField(_("issuer"), default=False)
    is_applicant = models.BooleanField(_("applicant"), default=False)
    is_expert = models.BooleanField(_("expert"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name or self.username

    ROLE_FIELDS = {
        Role.ADMINISTRATOR: "is_administrator",
        Role.SUPERVISOR: "is_supervisor",
        Role.ISSUER: "is_issuer",
        Role.APPLICANT: "is_applicant",
        Role.EXPERT: "is_expert",
    }

    @property
    def roles(self) -> list[Role]:
        return [role for role, field in self.ROLE_FIELDS.items() if getattr(self, field)]

    def has_role(self, role: Role) -> bool:
        return bool(getattr(self, self.ROLE_FIELDS[Role(role)]))

    # Separation of duties: who organises or supervises the review never scores in it.
    OVERSEER_FIELDS = ("is_administrator", "is_supervisor", "is_superuser")

    @property
    def oversees_reviews(self) -> bool:
        return any(getattr(self, field) for field in self.OVERSEER_FIELDS)

    @classmethod
    def overseers(cls, path: str = "") -> models.Q:
        """The accounts that oversee reviews, as a filter (``path``: the way to the user, e.g. "user__")."""
        return models.Q(*((f"{path}{field}", True) for field in cls.OVERSEER_FIELDS), _connector=models.Q.OR)

    def clean(self):
        super().clean()
        needs_org = self.is_issuer or self.is_applicant
        if needs_org and self.organization_id is None:
            raise ValidationError({"organization": _("Issuers and applicants act for an organisation; choose one.")})
