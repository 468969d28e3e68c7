from django import forms
from django.utils.translation import gettext_lazy as _

MAX_UPLOAD_MB = 5


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("Upload an .xlsx file (Excel 2007 or later)."))
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_MB})
        return upload
