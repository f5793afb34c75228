"""The card's and the form's layout: sections and the order of fields in them, standard and custom fields alike.

The admin's CardLayout for the entity (for a deal: the one of its pipeline, else the entity's) when there is one,
else the entity's own `card_sections`; custom fields the layout does not place go into the section named by their
`section` (a section of that title, or a new one after the others), in their order. A field with a "shown only
when" condition is left out of the card while the condition does not hold (the form hides it in the browser)."""

from . import is_custom
from .registry import definitions


def _layout_for(entity, obj):
    from .models import CardLayout

    layouts = [layout for layout in CardLayout.objects.filter(entity=entity.key).prefetch_related("sections")]
    if not layouts:
        return None
    pipeline_id = getattr(obj, "pipeline_id", None) if obj is not None else None
    chosen = next((layout for layout in layouts if pipeline_id and layout.pipeline_id == pipeline_id), None)
    chosen = chosen or next((layout for layout in layouts if layout.pipeline_id is None), None)
    if chosen is None:
        return None
    return [(section.title, list(section.fields or [])) for section in chosen.sections.all()]


def sections(entity, obj=None):
    """[(title, [field names])] for the card and the form of `obj` (or a new record)."""
    layout = _layout_for(entity, obj)
    if layout is None:
        layout = [(str(title), list(names)) for title, names in entity.card_sections]
    placed = {name for _title, names in layout for name in names}
    for field in definitions(entity.key):
        if field.name in placed:
            continue
        title = field.section.strip()
        for index, (existing, names) in enumerate(layout):
            if title and str(existing).casefold() == title.casefold():
                layout[index] = (existing, [*names, field.name])
                break
        else:
            from django.utils.translation import gettext

            title = title or gettext("More fields")
            layout.append((title, [field.name]))
    return layout


def shown(field, obj):
    """Does `field` show on the card of `obj`: always, or only when another field has one of given values."""
    if not field.show_when_field or obj is None:
        return True
    wanted = {str(value) for value in (field.show_when_values or [])}
    name = field.show_when_field
    if is_custom(name):
        value = (obj.custom_fields or {}).get(name[3:])
        values = value if isinstance(value, list) else [value]
        return any(str(item) in wanted for item in values if item is not None)
    try:
        model_field = type(obj)._meta.get_field(name)
    except Exception:
        return True
    value = getattr(obj, model_field.attname, None)
    return str(value) in wanted
