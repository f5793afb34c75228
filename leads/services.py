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
from crm_site.models import Communication
from deals.models import Deal, DealContact, Pipeline, StageChange

from .models import Lead, LeadStatus


@dataclass
class Conversion:
    lead: Lead
    contact: Contact | None = None
    company: Company | None = None
    deal: Deal | None = None


def _copy_channels(source, target):
    for comm in source.communications.all():
        Communication(
            record=target, channel=comm.channel, kind=comm.kind, value=comm.value, is_primary=comm.is_primary,
            position=comm.position,
        ).save()


def _stamp(obj, user, owner):
    obj.owner = owner
    obj.created_by = user
    obj.updated_by = user
    return obj


@transaction.atomic
def lead_convert(
    *, user, lead, create_contact=False, contact=None, create_company=False, company=None, create_deal=False,
    pipeline=None, deal_title="",
):
    """Turn a lead into any combination of contact, company and deal.

    An existing contact or company may be linked instead of creating one. Data is copied, the lead is
    marked converted with links to what it became. All or nothing.
    """
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

    result = Conversion(lead=lead)
    owner = lead.owner
    if create_company:
        name = lead.company_name.strip() or lead.title
        result.company = _stamp(Company(name=name, comment=lead.comment, opened=lead.opened), user, owner)
        result.company.save()
    else:
        result.company = company
    if create_contact:
        if not (lead.last_name or lead.first_name or lead.middle_name):
            raise ValidationError(_("The lead has no person's name to create a contact from."))
        result.contact = _stamp(
            Contact(
                last_name=lead.last_name, first_name=lead.first_name, middle_name=lead.middle_name,
                position=lead.position, source=lead.source, comment=lead.comment, opened=lead.opened,
            ),
            user,
            owner,
        )
        result.contact.save()
        _copy_channels(lead, result.contact)
    else:
        result.contact = contact
    if create_company and not result.contact:
        _copy_channels(lead, result.company)
    if result.contact and result.company:
        link, _created = ContactCompany.objects.get_or_create(
            contact=result.contact, company=result.company,
            defaults={"position": lead.position,
                      "is_primary": not result.contact.company_links.filter(is_primary=True).exists()},
        )
    if create_deal:
        pipeline = pipeline or Pipeline.objects.filter(is_active=True).order_by("-is_default", "order").first()
        stage = pipeline.stages.order_by("order", "pk").first() if pipeline else None
        if stage is None:
            raise ValidationError(_("There is no pipeline with stages to put the deal in."))
        result.deal = _stamp(
            Deal(
                title=deal_title.strip() or lead.title, pipeline=pipeline, stage=stage,
                amount=lead.expected_amount, currency=lead.currency, company=result.company, source_lead=lead,
                comment=lead.comment, opened=lead.opened,
            ),
            user,
            owner,
        )
        result.deal.save()
        StageChange.objects.create(deal=result.deal, to_stage=stage, changed_by=user)
        if result.contact:
            DealContact.objects.create(deal=result.deal, contact=result.contact)

    converted = LeadStatus.objects.filter(code="converted").first() or LeadStatus.objects.filter(
        semantic=LeadStatus.Semantic.SUCCESS
    ).first()
    if converted:
        lead.status = converted
    lead.converted_contact = result.contact
    lead.converted_company = result.company
    lead.converted_at = timezone.now()
    lead.converted_by = user
    lead.updated_by = user
    previous_status_id = Lead.objects.filter(pk=lead.pk).values_list("status_id", flat=True).first()
    lead._change_reason = "converted"
    lead.save()
    created = [obj for obj, new in ((result.contact, create_contact), (result.company, create_company),
                                    (result.deal, create_deal)) if obj is not None and new]
    for obj in created:
        events.record_event(events.CREATED, obj=obj, user=user, related=[lead], data={"from_lead": lead.pk})
    if previous_status_id != lead.status_id:
        events.record_event(events.STATUS_CHANGED, obj=lead, user=user,
                            data={"old": previous_status_id, "new": lead.status_id})
    events.record_event(
        events.CONVERTED, obj=lead, user=user,
        related=[obj for obj in (result.contact, result.company, result.deal) if obj is not None],
        data={"created": [f"{type(obj)._meta.label_lower}:{obj.pk}" for obj in created]},
    )
    return result
