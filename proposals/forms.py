"""Forms for the applicant's multi-step proposal editor.

Forms only parse and shape input; every rule that decides whether a change is
allowed lives in proposals/services.py, whose ValidationErrors are put back on
these forms by `apply_service_errors`.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.forms import StyledFormMixin
from proposals.choices import AttachmentKind, FundingSource, TeamRole

CENT = Decimal("0.01")


def apply_service_errors(form, error) -> None:
    """Put a service's ValidationError on the form: field errors on their fields, the rest on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


# --- basics ---------------------------------------------------------------------------------
class BasicsForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label=_("project title"), max_length=200)
    summary = forms.CharField(label=_("summary"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    technical_route = forms.CharField(
        label=_("technical route"), widget=forms.Textarea(attrs={"rows": 8}), required=False
    )
    risks = forms.CharField(
        label=_("risks and countermeasures"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )


# --- consortium -----------------------------------------------------------------------------
class UnitSharesForm(StyledFormMixin, forms.Form):
    task_share = forms.CharField(label=_("tasks undertaken"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    budget_share = forms.DecimalField(
        label=_("budget share (10k yuan)"), max_digits=12, decimal_places=2, min_value=0, required=False
    )


class MemberUnitForm(UnitSharesForm):
    credit_code = forms.CharField(
        label=_("unified social credit code"),
        max_length=18,
        min_length=18,
        help_text=_("The member unit must be registered in the system."),
    )

    field_order = ["credit_code", "task_share", "budget_share"]


# --- team -----------------------------------------------------------------------------------
class TeamMemberForm(StyledFormMixin, forms.Form):
    """Adds a person (by ID number) or, with `editing`, changes an existing member's row.

    When editing, the ID number is not a field: the view takes it from the stored
    person, so a full ID number is never sent back to the browser.
    """

    # Contexts keep these apart from an organisation's "name" and a target's measurement "unit".
    name = forms.CharField(label=pgettext_lazy("person", "name"), max_length=50)
    id_number = forms.CharField(label=_("ID number"), max_length=18)
    unit = forms.TypedChoiceField(label=pgettext_lazy("consortium", "unit"), coerce=int)
    role = forms.ChoiceField(label=_("role in the project"), choices=TeamRole.choices, initial=TeamRole.MEMBER)
    title = forms.CharField(label=_("professional title"), max_length=50, required=False)
    duty = forms.CharField(label=_("duty in the project"), max_length=200, required=False)
    months_per_year = forms.DecimalField(
        label=_("time share (months per year)"),
        max_digits=4,
        decimal_places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal("12"),
    )

    def __init__(self, *args, units, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(u.pk, u.organization.name) for u in units]
        if editing:
            del self.fields["id_number"]


# --- targets --------------------------------------------------------------------------------
class CommitmentsForm(StyledFormMixin, forms.Form):
    """One committed value and note per target of the call."""

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = list(targets)
        for target in self.targets:
            value = forms.DecimalField(label=_("committed value"), max_digits=16, decimal_places=4, required=False)
            value.widget.attrs["class"] = "form-control form-control-sm text-end"
            note = forms.CharField(label=_("how it will be reached"), max_length=300, required=False)
            note.widget.attrs["class"] = "form-control form-control-sm"
            self.fields[f"value_{target.pk}"], self.fields[f"note_{target.pk}"] = value, note

    def rows(self):
        return [(t, self[f"value_{t.pk}"], self[f"note_{t.pk}"]) for t in self.targets]

    def values(self) -> dict[int, tuple]:
        data = self.cleaned_data
        return {t.pk: (data[f"value_{t.pk}"], data[f"note_{t.pk}"]) for t in self.targets}


# --- milestones -----------------------------------------------------------------------------
class MilestoneForm(StyledFormMixin, forms.Form):
    month = forms.IntegerField(label=_("month"), min_value=1)
    deliverable = forms.CharField(label=_("deliverable"), max_length=300)
    verification = forms.CharField(label=_("how it is verified"), max_length=300)


MilestoneFormSet = formset_factory(MilestoneForm, extra=1, can_delete=True)


# --- budget ---------------------------------------------------------------------------------
def cell_name(source: str, category: str) -> str:
    return f"{source}__{category}"


class BudgetForm(StyledFormMixin, forms.Form):
    """A grid of Decimal inputs (10k yuan): programme categories × funding sources."""

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = list(categories)
        for category in self.categories:
            for source in FundingSource:
                field = forms.DecimalField(
                    label=f"{category['name']} / {source.label}",
                    max_digits=12,
                    decimal_places=2,
                    min_value=0,
                    required=False,
                )
                field.widget.attrs.update(
                    {
                        "class": "form-control form-control-sm text-end money budget-cell",
                        "step": "0.01",
                        "min": "0",
                        "data-source": source.value,
                        "data-category": category["code"],
                    }
                )
                self.fields[cell_name(source.value, category["code"])] = field

    def amounts(self) -> dict[tuple[str, str], Decimal]:
        return {
            (source.value, category["code"]): self.cleaned_data[cell_name(source.value, category["code"])]
            or Decimal("0")
            for category in self.categories
            for source in FundingSource
        }

    def posted_amounts(self) -> dict[tuple[str, str], Decimal]:
        """What the user typed, best effort, for totals on a page with errors."""
        amounts = {}
        for category in self.categories:
            for source in FundingSource:
                name = cell_name(source.value, category["code"])
                try:
                    amount = Decimal(str(self.data.get(name) or 0)).quantize(CENT)
                except (ArithmeticError, ValueError):
                    amount = Decimal("0")
                amounts[(source.value, category["code"])] = amount if amount.is_finite() else Decimal("0")
        return amounts


@dataclass
class BudgetRow:
    code: str
    name: str
    cells: list  # [(source, amount or bound field)]
    total: Decimal


@dataclass
class BudgetTable:
    """The budget by category × source with totals, matching ratio and cap: one computation for
    the detail page and the editor (static/js/budget.js repeats it live in the browser)."""

    rows: list
    column_totals: list  # [(source, total)]
    total: Decimal
    fiscal: Decimal
    self_raised: Decimal
    ratio: Decimal | None
    required_ratio: Decimal
    fiscal_cap: Decimal
    matching_ok: bool
    cap_ok: bool


def budget_table(*, call, amounts: dict[tuple[str, str], Decimal], form: BudgetForm | None = None) -> BudgetTable:
    programme = call.programme
    sources = list(FundingSource)
    columns = {s.value: Decimal("0.00") for s in sources}
    rows = []
    for category in programme.budget_categories:
        code = category["code"]
        cells, row_total = [], Decimal("0.00")
        for source in sources:
            amount = amounts.get((source.value, code), Decimal("0")).quantize(CENT)
            row_total += amount
            columns[source.value] += amount
            cells.append((source, form[cell_name(source.value, code)] if form is not None else amount))
        rows.append(BudgetRow(code=code, name=category["name"], cells=cells, total=row_total))
    fiscal, raised = columns[FundingSource.FISCAL.value], columns[FundingSource.SELF_RAISED.value]
    required = programme.matching_ratio
    return BudgetTable(
        rows=rows,
        column_totals=[(s, columns[s.value]) for s in sources],
        total=sum(columns.values(), Decimal("0.00")),
        fiscal=fiscal,
        self_raised=raised,
        ratio=(raised / fiscal).quantize(CENT, rounding=ROUND_HALF_UP) if fiscal else None,  # as budget.js
        required_ratio=required,
        fiscal_cap=call.fiscal_cap,
        matching_ok=fiscal == 0 or raised >= fiscal * required,
        cap_ok=fiscal <= call.fiscal_cap,
    )


def stored_amounts(proposal) -> dict[tuple[str, str], Decimal]:
    return {(line.source, line.category): line.amount for line in proposal.budget_lines.all()}


# --- attachments and transitions ------------------------------------------------------------
class AttachmentForm(StyledFormMixin, forms.Form):
    """Rendered on the attachments step; posted to proposals:upload (views/files.py)."""

    kind = forms.ChoiceField(label=_("kind"), choices=AttachmentKind.choices)
    file = forms.FileField(
        label=_("PDF file"), widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"})
    )


class WithdrawForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=500, required=False)
