from django import forms

from crm_site.forms import CRMObjectForm
from crm_site.widgets import AutocompleteSelect

from .models import Deal, LostReason, Pipeline, Stage


class DealForm(CRMObjectForm):
    class Meta:
        model = Deal
        fields = [
            "title", "pipeline", "stage", "amount", "currency", "expected_close_date", "lost_reason", "company",
            "comment",
            "owner", "opened",
        ]
        widgets = {"expected_close_date": forms.DateInput(), "company": AutocompleteSelect("company")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from companies.models import Company

        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_active=True)
        self.fields["stage"].queryset = Stage.objects.select_related("pipeline")
        self.fields["lost_reason"].queryset = LostReason.objects.filter(is_active=True)
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline} — {s}"
        # Only companies the user may read can be chosen; typed by id through the autocomplete.
        companies = Company.objects.all()
        if self.user is not None:
            companies = Company.objects.visible_to(self.user, "read")
        self.fields["company"].queryset = companies
        if not self.instance.pk:
            # The pipeline asked for (?pipeline= from the board), else the default one; and its first stage.
            # (model_to_dict() already put pipeline=None and stage=None into self.initial.)
            from crm_site.validation import parse_id

            chosen = parse_id(str(self.initial.get("pipeline") or ""))
            pipeline = Pipeline.objects.filter(pk=chosen, is_active=True).first() if chosen is not None else None
            pipeline = pipeline or Pipeline.objects.filter(is_active=True).order_by("-is_default", "order").first()
            if pipeline:
                self.initial["pipeline"] = pipeline.pk
                if not self.initial.get("stage"):
                    first_stage = pipeline.stages.order_by("order", "pk").first()
                    self.initial["stage"] = first_stage.pk if first_stage else None
