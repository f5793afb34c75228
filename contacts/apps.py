from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contacts")

    def ready(self):
        from crm_site.registry import Entity, Relation, registry

        registry.register(
            Entity(
                key="contact",
                model_path="contacts.Contact",
                url_prefix="contacts",
                form_class="contacts.forms.ContactForm",
                list_columns=("full_name", "position", "phone", "email", "type", "owner", "created_at"),
                sort_fields={"full_name": "last_name", "position": "position", "type": "type__order",
                             "owner": "owner__username", "created_at": "created_at"},
                search_fields=("last_name", "first_name", "middle_name"),
                filter_fields=("last_name", "company", "position", "type", "source", "tags", "birthday", "owner", "opened"),
                meta={"filter_paths": {"company": "companies__name"}, "filter_labels": {"company": _("company")}},
                list_select_related=("owner", "type"),
                card_sections=(
                    (_("Person"), ("last_name", "first_name", "middle_name", "honorific", "position", "birthday")),
                    (_("About the client"), ("type", "source", "tags", "address", "comment")),
                    (_("More"), ("owner", "department", "opened", "created_at", "created_by", "updated_at")),
                ),
                relations=(
                    Relation(name="companies", label=_("Companies"), through="contacts.ContactCompany",
                             from_field="contact", to_field="company", extra_fields=("position", "is_primary"),
                             primary_per="contact", reverse_name="contacts", reverse_label=_("Contacts")),
                ),
                texts={"new": _("New contact"), "link": _("Link a contact"), "empty": _("No contacts yet")},
                icon="person",
                duplicate_rule={"criteria": ["phone", "email", "name"], "name_threshold": 90, "match_against": []},
            )
        )
