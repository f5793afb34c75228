from django import forms
from django.urls import reverse


class AutocompleteSelect(forms.Widget):
    """A record picker for large tables: a search box (htmx) and a hidden id; works as an id field without JS."""

    template_name = "widgets/autocomplete.html"

    def __init__(self, entity_key, attrs=None):
        super().__init__(attrs)
        self.entity_key = entity_key

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        from .registry import registry

        label = ""
        if value not in (None, ""):
            # The field's own queryset (restricted to what the user may read), so ?company=<id> of an
            # invisible record shows no name.
            queryset = getattr(getattr(self, "choices", None), "queryset", None)
            if queryset is None:
                queryset = registry[self.entity_key].model._base_manager.none()
            from .validation import parse_id

            pk = parse_id(value)
            obj = queryset.filter(pk=pk).first() if pk is not None else None
            label = str(obj) if obj else ""
        context["widget"].update(
            {"url": reverse(f"{self.entity_key}_autocomplete"), "label": label, "entity_key": self.entity_key}
        )
        return context
