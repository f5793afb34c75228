"""Reads of the leads app."""

from .models import LeadStatus


def new_lead_defaults(datas):
    """A new lead without a status gets the first active one, as the form offers it (registry `new_defaults`)."""
    first = LeadStatus.objects.filter(is_active=True).order_by("order", "pk").first()
    return [{"status": first} if first is not None else {} for _data in datas]
