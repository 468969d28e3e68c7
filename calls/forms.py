from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from accounts.forms import StyledFormMixin
from calls.choices import AmendmentKind, Comparator
from calls.models import Call, Programme
from calls.services import CONTENT_FIELDS

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CallForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Call
        # The programme is chosen once, when the call is created.
        fields = [*CONTENT_FIELDS[:2], "programme", *CONTENT_FIELDS[2:]]
        widgets = {
            "background": forms.Textarea(attrs={"rows": 4}),
            "research_tasks": forms.Textarea(attrs={"rows": 5}),
            "bidder_conditions": forms.Textarea(attrs={"rows": 3}),
            "ip_terms": forms.Textarea(attrs={"rows": 3}),
            "deadline": DATETIME_WIDGET,
            "bureau_deadline": DATETIME_WIDGET,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = Programme.objects.order_by("-year", "name")
        for name in ("deadline", "bureau_deadline"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        if self.instance.pk:
            # The programme decides the rules; it is fixed once the call exists.
            self.fields["programme"].disabled = True


class TargetForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("target"), max_length=200)
    comparator = forms.ChoiceField(label=_("comparison"), choices=Comparator.choices, initial=Comparator.AT_LEAST)
    value = forms.DecimalField(label=_("target value"), max_digits=16, decimal_places=4)
    unit = forms.CharField(label=_("unit"), max_length=30, required=False)


class CriterionForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("criterion"), max_length=200)
    max_points = forms.DecimalField(label=_("maximum points"), max_digits=5, decimal_places=2, min_value=0)
    guidance = forms.CharField(label=_("guidance for experts"), max_length=500, required=False)


TargetFormSet = formset_factory(TargetForm, extra=1, can_delete=True)
CriterionFormSet = formset_factory(CriterionForm, extra=0, can_delete=True)


def formset_rows(formset) -> list[dict]:
    """The kept, non-empty rows of a valid formset, in order."""
    return [form.cleaned_data for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class AmendmentForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=AmendmentKind.choices)
    text = forms.CharField(label=_("notice text"), widget=forms.Textarea(attrs={"rows": 4}))
    new_deadline = forms.DateTimeField(
        label=_("new deadline"),
        required=False,
        widget=DATETIME_WIDGET,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class DocumentForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label=_("title"), max_length=200, required=False)
    file = forms.FileField(label=_("PDF file"))
