"""Lead conversion: one service for the screen, the API and tests."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scopes import ADD, EDIT, READ, can, scope_q
from companies.models import Company
from contacts.models import Contact, ContactCompany
from crm_site import events
from crm_site.customfields.services import copy_values
from crm_site.services import record_create, record_link, record_update
from deals.models import Deal, Pipeline

from .models import Lead, LeadStatus


@dataclass
class Conversion:
    lead: Lead
    contact: Contact | None = None
    company: Company | None = None
    deal: Deal | None = None


STATUS_CHANGED = "status_changed"  # event kinds of leads (registered in LeadsConfig.ready)
CONVERTED = "converted"


def _channels_of(lead):
    return [{"channel": comm.channel, "value": comm.value, "kind": comm.kind, "is_primary": comm.is_primary}
            for comm in lead.communications.order_by("channel", "-is_primary", "position", "pk")]


@transaction.atomic
def lead_convert(
    *, user, lead, create_contact=False, contact=None, create_company=False, company=None, create_deal=False,
    pipeline=None, deal_title="",
):
    """Turn a lead into any combination of contact, company and deal.

    An existing contact or company may be linked instead of creating one. Data is copied (the new records belong
    to the lead's owner), the lead is marked converted with links to what it became. All or nothing: every
    record is written through the write services, so a refusal anywhere rolls everything back."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if not can(user, lead, EDIT):
        raise PermissionDenied
    if lead.is_converted:
        raise ValidationError(_("This lead has already been converted."))
    if create_contact and contact is not None:
        raise ValidationError(_("Either create a new contact or choose an existing one, not both."))
    if create_company and company is not None:
        raise ValidationError(_("Either create a new company or choose an existing one, not both."))
    if not (create_contact or contact or create_company or company or create_deal):
        raise ValidationError(_("Choose at least one thing to convert the lead into."))
    for existing in (contact, company):
        if existing is not None and not type(existing).objects.visible_to(user, READ).filter(pk=existing.pk).exists():
            raise PermissionDenied
    for model, wanted in ((Contact, create_contact), (Company, create_company), (Deal, create_deal)):
        if wanted and scope_q(user, model, ADD) is None:
            raise PermissionDenied
    if create_contact and not (lead.last_name or lead.first_name or lead.middle_name):
        raise ValidationError(_("The lead has no person's name to create a contact from."))

    result = Conversion(lead=lead)
    # The lead's owner gets what it becomes: set by this service, past the converting user's field rules.
    ownership = {"owner": lead.owner, "opened": lead.opened}
    made = {"related": [lead], "event_data": {"from_lead": lead.pk}}
    channels = _channels_of(lead)
    result.contact, result.company = contact, company
    position_link = {"position": lead.position}
    if create_company:
        links = []
        if contact is not None:  # an existing contact: the new company links to it
            links = [{"relation": "contacts", "target": contact, **position_link,
                      "is_primary": not contact.company_links.filter(is_primary=True).exists()}]
        result.company = record_create(
            user=user, entity="company", data={}, links=links,
            channels=channels if not create_contact and contact is None else (),
            system={"name": lead.company_name.strip() or lead.title, "comment": lead.comment, **ownership,
                    "custom_fields": copy_values(lead, "company")}, **made)
    if create_contact:
        links = [{"relation": "companies", "target": result.company, **position_link}] if result.company else []
        result.contact = record_create(
            user=user, entity="contact", data={}, channels=channels, links=links,
            system={"last_name": lead.last_name, "first_name": lead.first_name, "middle_name": lead.middle_name,
                    "position": lead.position, "source": lead.source, "comment": lead.comment, **ownership,
                    "custom_fields": copy_values(lead, "contact")},
            **made)
    elif contact is not None and company is not None:  # two existing records
        if not ContactCompany.objects.filter(contact=contact, company=company).exists():
            record_link(user=user, obj=contact, relation=contact.entity().relation("companies"), target=company,
                        is_primary=not contact.company_links.filter(is_primary=True).exists(), **position_link)
    if create_deal:
        pipeline = pipeline or Pipeline.objects.filter(is_active=True).order_by("-is_default", "order").first()
        stage = pipeline.stages.order_by("order", "pk").first() if pipeline else None
        if stage is None:
            raise ValidationError(_("There is no pipeline with stages to put the deal in."))
        result.deal = record_create(
            user=user, entity="deal", data={},
            links=[{"relation": "contacts", "target": result.contact}] if result.contact else [],
            system={"title": deal_title.strip() or lead.title, "pipeline": pipeline, "stage": stage,
                    "amount": lead.expected_amount, "currency": lead.currency, "company": result.company,
                    "source_lead": lead, "comment": lead.comment, **ownership,
                    "custom_fields": copy_values(lead, "deal")},
            **made)

    converted = LeadStatus.objects.filter(code="converted").first() or LeadStatus.objects.filter(
        semantic=LeadStatus.Semantic.SUCCESS
    ).first()
    system = {"converted_contact": result.contact, "converted_company": result.company,
              "converted_at": timezone.now(), "converted_by": user}
    if converted:
        system["status"] = converted
    # No "changed" entry: the "converted" one below says it (a status move still gets its own entry).
    result.lead = record_update(user=user, obj=lead, data={}, system=system, reason="converted", event=None)
    created = [obj for obj, new in ((result.contact, create_contact), (result.company, create_company),
                                    (result.deal, create_deal)) if obj is not None and new]
    events.record_event(
        CONVERTED, obj=result.lead, user=user,
        related=[obj for obj in (result.contact, result.company, result.deal) if obj is not None],
        data={"created": [f"{type(obj)._meta.label_lower}:{obj.pk}" for obj in created]},
    )
    return result
