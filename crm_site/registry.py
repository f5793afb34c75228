"""The entity registry: every app registers its entity in AppConfig.ready().

Generic views, urls, search, the timeline, the bin, dedup, import and the permission matrix all
discover entities from here, so a fifth entity needs no edits in those places.
"""

from dataclasses import dataclass, field

from django.utils.functional import cached_property


@dataclass(frozen=True)
class Relation:
    """A many-to-many link shown on a card and edited in place (e.g. contact ↔ company with a position)."""

    name: str  # url-safe name, unique per entity: "companies"
    label: str  # section title
    through: str  # "contacts.ContactCompany"
    from_field: str  # field of `through` pointing at this entity
    to_field: str  # field of `through` pointing at the other entity
    extra_fields: tuple = ()  # editable fields on the link: ("position", "is_primary")
    primary_per: str = ""  # field of `through` within which only one link may be primary ("contact")

    @property
    def through_model(self):
        from django.apps import apps

        return apps.get_model(self.through)

    @property
    def target_model(self):
        return self.through_model._meta.get_field(self.to_field).related_model


@dataclass
class Entity:
    key: str  # "contact": used in url names and templates
    model_path: str  # "contacts.Contact"
    url_prefix: str  # "contacts"
    form_class: str  # dotted path, imported lazily
    list_columns: tuple  # field names or properties shown in the list
    sort_fields: dict  # column -> order_by expression
    search_fields: tuple  # text fields searched by ?q= (phones and emails are always searched)
    card_sections: tuple  # ((title, (field, ...)), ...)
    filter_fields: tuple = ()
    list_select_related: tuple = ("owner",)
    relations: tuple = ()  # Relation(...)
    related_lists: tuple = ()  # (title, accessor, entity key) for one-to-many lists on the card
    icon: str = ""
    extra_urls: str = ""  # dotted path of a urlpatterns list added under url_prefix
    extra_actions: tuple = ()  # (label, url name taking pk) shown on the card
    on_saved: str = ""  # dotted path of a hook(obj=, previous=, user=) run inside record_save
    has_channels: bool = True
    # Whole phrases, because Russian and Ukrainian agree them with the noun's gender ("Новая сделка"):
    # {"new": _("New deal"), "link": _("Link a deal"), "empty": _("No deals yet")}. Generic text otherwise.
    texts: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @cached_property
    def model(self):
        from django.apps import apps

        return apps.get_model(self.model_path)

    @cached_property
    def form(self):
        from django.utils.module_loading import import_string

        return import_string(self.form_class)

    @property
    def verbose_name(self):
        return self.model._meta.verbose_name

    @property
    def verbose_name_plural(self):
        return self.model._meta.verbose_name_plural

    def text(self, kind):
        from django.utils.translation import gettext

        if kind in self.texts:
            return self.texts[kind]
        generic = {"new": gettext("New: %(name)s"), "link": gettext("Link: %(name)s"),
                   "empty": gettext("Nothing here yet: %(name)s")}
        name = self.verbose_name_plural if kind == "empty" else self.verbose_name
        return generic[kind] % {"name": name}

    @property
    def new_label(self):
        return self.text("new")

    @property
    def link_label(self):
        return self.text("link")

    @property
    def empty_label(self):
        return self.text("empty")

    def relation(self, name):
        for relation in self.relations:
            if relation.name == name:
                return relation
        raise KeyError(name)


class Registry:
    def __init__(self):
        self._entities = {}

    def register(self, entity):
        if entity.key in self._entities:
            raise ValueError(f"entity {entity.key!r} is already registered")
        self._entities[entity.key] = entity
        return entity

    def __iter__(self):
        return iter(self._entities.values())

    def __getitem__(self, key):
        return self._entities[key]

    def __contains__(self, key):
        return key in self._entities

    def keys(self):
        return list(self._entities)

    def for_model(self, model):
        label = model._meta.label
        for entity in self._entities.values():
            if entity.model_path == label:
                return entity
        raise KeyError(label)


registry = Registry()
