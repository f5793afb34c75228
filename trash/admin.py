from django import forms
from django.contrib import admin

from crm_site.registry import registry

from .models import RetentionPolicy


class RetentionPolicyForm(forms.ModelForm):
    class Meta:
        model = RetentionPolicy
        fields = ["entity_key", "days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity_key"] = forms.ChoiceField(
            label=RetentionPolicy._meta.get_field("entity_key").verbose_name,
            choices=[(entity.key, str(entity.verbose_name_plural).capitalize()) for entity in registry],
        )


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    form = RetentionPolicyForm
    list_display = ["entity_label", "days"]
