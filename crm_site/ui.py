"""Places other apps plug into the shared screens without editing the generic templates.

- card panels: a template included on every record card, in the main column or the side column
  (the timeline, sharing, possible duplicates...). `context(request, obj, entity)` returns the
  panel's context, or None to hide it.
- navigation items: a link in the side menu (the bin, my activities, duplicates...).
- header items: a template included in the top bar (activity counters, notifications...).
- create checks: `check(request, entity, form, formsets)` run before a new record is saved from the form;
  a dict returned asks the user once more (the form is shown again with it as `create_confirm`, and saving
  with `confirmed=1` goes ahead): a likely duplicate, for instance.
Register them in AppConfig.ready().
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CardPanel:
    name: str
    template: str
    slot: str = "side"  # "main" or "side"
    order: int = 100
    context: object = None  # callable(request, obj, entity) -> dict | None


@dataclass(frozen=True)
class NavItem:
    name: str
    label: object  # a lazy translation
    url_name: str
    icon: str = ""
    order: int = 100
    visible: object = None  # callable(user) -> bool


@dataclass(frozen=True)
class HeaderItem:
    name: str
    template: str
    order: int = 100
    context: object = None  # callable(request) -> dict | None


@dataclass(frozen=True)
class CreateCheck:
    name: str
    check: object  # callable(request, entity, form, formsets) -> dict | None
    order: int = 100


card_panels, nav_items, header_items, create_checks = [], [], [], []


def _add(items, item):
    if all(existing.name != item.name for existing in items):
        items.append(item)
        items.sort(key=lambda i: i.order)
    return item


def register_card_panel(**kwargs):
    return _add(card_panels, CardPanel(**kwargs))


def register_nav_item(**kwargs):
    return _add(nav_items, NavItem(**kwargs))


def register_header_item(**kwargs):
    return _add(header_items, HeaderItem(**kwargs))


def register_create_check(**kwargs):
    return _add(create_checks, CreateCheck(**kwargs))


def create_confirmation(request, entity, form, formsets):
    """The first create check that asks for a confirmation, or None (also when the user already confirmed)."""
    if request.POST.get("confirmed"):
        return None
    for item in create_checks:
        context = item.check(request, entity, form, formsets)
        if context:
            return context
    return None


def panels_for(request, obj, entity, slot):
    rendered = []
    for panel in card_panels:
        if panel.slot != slot:
            continue
        context = panel.context(request, obj, entity) if panel.context else {}
        if context is not None:
            rendered.append({"name": panel.name, "template": panel.template, "context": context})
    return rendered


def nav_for(user):
    return [item for item in nav_items if item.visible is None or item.visible(user)]


def header_for(request):
    rendered = []
    for item in header_items:
        context = item.context(request) if item.context else {}
        if context is not None:
            rendered.append({"name": item.name, "template": item.template, "context": context})
    return rendered
