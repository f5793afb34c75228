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
    # Declared once, on one side; the registry gives the other entity the reverse relation (both cards show it).
    reverse_name: str = ""  # "contacts" on the company's card; no reverse relation when empty
    reverse_label: str = ""

    def reversed(self):
        return Relation(name=self.reverse_name, label=self.reverse_label, through=self.through,
                        from_field=self.to_field, to_field=self.from_field, extra_fields=self.extra_fields,
                        primary_per=self.primary_per)

    @property
    def through_model(self):
        from django.apps import apps

        return apps.get_model(self.through)

    @property
    def target_model(self):
        return self.through_model._meta.get_field(self.to_field).related_model


@dataclass(frozen=True)
class Action:
    """A button on a card (`url_name` takes the record's pk) or on a list (no argument)."""

    label: object
    url_name: str
    icon: str = ""
    visible: object = None  # callable(obj) -> bool, for card actions (e.g. not once a lead is converted)

    def shown_for(self, obj):
        return self.visible is None or bool(self.visible(obj))


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
    # Dotted path of a callable returning {name: django_filters.Filter} added to the list's filters (a deal's
    # "won or lost between", "passed stage", "stuck"); every entity also has the generic ones of
    # crm_site.reports.filters (created between, mine / my department, department).
    extra_filters: str = ""
    list_select_related: tuple = ("owner",)
    relations: tuple = ()  # Relation(...)
    related_lists: tuple = ()  # (title, accessor, entity key): lists on this card; filled from others' listed_on
    # (field, title): this entity's records are listed on the card of the record `field` points at, e.g. a deal's
    # ("company", _("Deals")) puts "Deals" on the company's card. Declared once, on the side holding the field.
    listed_on: tuple = ()
    brief_fields: tuple = ()  # fields shown beside the record's name in those lists (a deal's stage and amount)
    icon: str = ""  # a sprite icon of templates/includes/icons.html ("person"), else text such as an emoji
    extra_urls: str = ""  # dotted path of a urlpatterns list added under url_prefix
    extra_actions: tuple = ()  # Action(...) shown on the card (edit rights needed)
    list_actions: tuple = ()  # Action(...) shown on the list page (e.g. the deal board)
    badges: object = None  # callable(obj) -> [(text, style)] shown beside the card's title ("Converted")
    # Dotted path of hook(*, saved, user) run inside every write, after the rows are written; `saved` lists
    # (record, previous state or None) pairs, one for a single save, many for a bulk write.
    after_save: str = ""
    # Dotted path of defaults([data, ...]) -> [{field: value}, ...]: what each new record of a batch gets for
    # the fields its input leaves out (a lead's first status, a deal's default pipeline and its first stage),
    # whichever way it comes in: a form, the import, the API.
    new_defaults: str = ""
    tracked_fields: dict = field(default_factory=dict)  # field -> event kind announced when it changes
    duplicate_rule: dict = None  # the built-in duplicate rule (dedup.matching.Rule fields); None: no rule
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

    @property
    def icon_is_sprite(self):
        return bool(self.icon) and self.icon.isascii() and self.icon.replace("-", "").isalnum()

    def card_badges(self, obj):
        return list(self.badges(obj)) if self.badges else []

    def rule_fields(self):
        """[(name, label)] a field rule (access.fields) can name: what the card, list and form show, then the
        channels, then the custom fields (`cf_<code>`)."""
        from .channels import CHANNEL_LABELS
        from .display import field_label

        names = []
        for _title, section in self.card_sections:
            names.extend(section)
        names.extend(self.form._meta.fields or ())
        names.extend(self.list_columns)
        model_fields = {field.name for field in self.model._meta.get_fields()}
        fields = [(name, field_label(self.model, name)) for name in dict.fromkeys(names) if name in model_fields]
        if self.has_channels:
            fields.extend((str(channel.value), label) for channel, label in CHANNEL_LABELS.items())
        from .customfields.registry import definitions

        fields.extend((field.name, field.label) for field in definitions(self.key))
        return fields

    def relation(self, name):
        for relation in self.relations:
            if relation.name == name:
                return relation
        raise KeyError(name)


class Registry:
    def __init__(self):
        self._entities = {}
        self._reverse = []  # (model label of the target, reversed Relation) waiting for their entity

    def register(self, entity):
        if entity.key in self._entities:
            raise ValueError(f"entity {entity.key!r} is already registered")
        self._entities[entity.key] = entity
        for relation in entity.relations:
            if relation.reverse_name:
                self._reverse.append((relation.target_model._meta.label, relation.reversed()))
        for accessor, title in entity.listed_on:
            target = entity.model._meta.get_field(accessor).related_model
            self._reverse.append((target._meta.label, (title, accessor, entity.key)))
        self._attach_reverse()
        return entity

    def _attach_reverse(self):
        """Give each entity the relations and lists that others declared about it (once its entity is here)."""
        waiting = []
        for label, item in self._reverse:
            target = next((e for e in self._entities.values() if e.model_path == label), None)
            if target is None:
                waiting.append((label, item))
            elif isinstance(item, Relation):
                if all(r.name != item.name for r in target.relations):
                    target.relations = (*target.relations, item)
            elif item not in target.related_lists:
                target.related_lists = (*target.related_lists, item)
        self._reverse = waiting

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
