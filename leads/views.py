from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from access.scopes import EDIT, can
from crm_site.registry import registry
from crm_site.selectors import record_for_user_or_404
from crm_site.validation import parse_id

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
    suggested = [] if form.is_bound else _use_existing(request, form, lead)
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
        request, "leads/convert.html", {"lead": lead, "form": form, "entity": registry["lead"], "suggested": suggested},
        status=status,
    )


def _use_existing(request, form, lead):
    """An existing contact/company instead of a new one: the one clicked ("Use this contact", ?contact=<pk>), or
    else the one the duplicate engine is sure the lead's person/company is (and the user may read)."""
    from dedup.matching import candidates_for_record

    chosen = {}
    for key in ("contact", "company"):
        raw = parse_id(request.GET.get(key, ""))
        if raw is not None:
            chosen[key] = form.fields[key].queryset.filter(pk=raw).first()
    if not chosen:
        for candidate in candidates_for_record(lead, limit=10):
            key = candidate.entity.key
            if key in ("contact", "company") and key not in chosen and candidate.verdict.is_duplicate:
                chosen[key] = form.fields[key].queryset.filter(pk=candidate.obj.pk).first()
    suggested = []
    for key, obj in chosen.items():
        if obj is not None:
            form.initial[key] = obj.pk
            form.initial[f"create_{key}"] = False
            suggested.append(obj)
    return suggested
