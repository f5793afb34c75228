from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from access.scopes import EDIT, can
from crm_site.registry import registry
from crm_site.selectors import record_for_user_or_404

from . import services
from .forms import LeadConvertForm


def convert(request, pk):
    """One screen for every conversion path: new or existing contact/company, and a deal."""
    lead = record_for_user_or_404(request.user, "lead", pk)
    if not can(request.user, lead, EDIT):
        raise PermissionDenied
    if lead.is_converted:
        messages.info(request, _("This lead has already been converted."))
        return HttpResponseRedirect(lead.get_absolute_url())
    form = LeadConvertForm(request.POST or None, user=request.user, lead=lead)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.lead_convert(user=request.user, lead=lead, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            made = [str(x) for x in (result.contact, result.company, result.deal) if x is not None]
            messages.success(request, _("Lead converted: %(items)s.") % {"items": ", ".join(made)})
            return HttpResponseRedirect(lead.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(
        request, "leads/convert.html", {"lead": lead, "form": form, "entity": registry["lead"]}, status=status
    )
