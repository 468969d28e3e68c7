from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import StyledFormMixin
from calls.choices import TechField
from experts.choices import DECLARED_REASONS, ConflictReason


class CommitDrawForm(StyledFormMixin, forms.Form):
    panel_size = forms.IntegerField(label=_("panel size"), min_value=1, max_value=200)
    backups = forms.IntegerField(label=_("backups"), min_value=0, max_value=200, initial=3)
    fields = forms.MultipleChoiceField(
        label=_("fields drawn from"),
        choices=TechField.choices,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Experts of any of these fields are eligible."),
    )

    @classmethod
    def for_call(cls, call, data=None):
        return cls(data, initial={"panel_size": call.programme.min_reviewers, "backups": 3, "fields": [call.field]})


class NoShowForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


class DeclineForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("reason for declining"), max_length=300)


class DeclareConflictForm(StyledFormMixin, forms.Form):
    reason = forms.ChoiceField(label=_("kind of conflict"), choices=[(r.value, r.label) for r in DECLARED_REASONS])
    detail = forms.CharField(
        label=_("detail"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == ConflictReason.OTHER and not (data.get("detail") or "").strip():
            self.add_error("detail", _("Please describe the conflict."))
        return data
