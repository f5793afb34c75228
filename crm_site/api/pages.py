"""The user's API tokens page (reached from the user menu): make a token (shown once), see when each was last
used, revoke one. Administrators see and manage any user's tokens here too (`?user=<id>`)."""

from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm_site.registry import registry

from . import tokens
from .models import ALL_ENTITIES, WEBHOOKS_SCOPE, ApiToken

NO_SCOPE, READ_ONLY, READ_WRITE = "", "read", "write"


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What the token is for, e.g. “Website forms”."))
    expires = forms.DateField(label=gettext_lazy("Expires"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}),
                              help_text=gettext_lazy("Empty: until revoked."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(NO_SCOPE, gettext_lazy("no access")), (READ_ONLY, gettext_lazy("read")),
                   (READ_WRITE, gettext_lazy("read and write"))]
        for entity in registry:
            self.fields[f"scope_{entity.key}"] = forms.ChoiceField(
                label=str(entity.verbose_name_plural).capitalize(), choices=choices, required=False,
                initial=READ_ONLY)
        self.fields[f"scope_{WEBHOOKS_SCOPE}"] = forms.ChoiceField(
            label=gettext_lazy("Webhooks"), choices=choices, required=False, initial=NO_SCOPE,
            help_text=gettext_lazy("Your webhook endpoints through the API (/api/v1/webhooks/)."))

    def scopes(self):
        scopes = {}
        for key in [*registry.keys(), WEBHOOKS_SCOPE]:
            value = self.cleaned_data.get(f"scope_{key}")
            if value == READ_ONLY:
                scopes[key] = ["read"]
            elif value == READ_WRITE:
                scopes[key] = ["read", "write"]
        return scopes

    def expires_at(self):
        day = self.cleaned_data.get("expires")
        return timezone.make_aware(datetime.combine(day, time(23, 59, 59))) if day else None


def _owner(request):
    user_id = request.GET.get("user") or request.POST.get("user")
    if user_id and request.user.is_superuser and str(user_id).isdigit():
        return get_object_or_404(get_user_model(), pk=int(user_id))
    return request.user


def _scope_text(token):
    parts = []
    for key, values in token.scopes.items():
        name = _("all records") if key == ALL_ENTITIES else _("webhooks") if key == WEBHOOKS_SCOPE else (
            str(registry[key].verbose_name_plural) if key in registry else key)
        parts.append(f"{name}: {_('read and write') if 'write' in values else _('read')}")
    return "; ".join(parts)


def tokens_page(request):
    owner = _owner(request)
    allowed = tokens_module().may_manage_tokens_of(request.user, owner)
    raw = None
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if not allowed:
            raise PermissionDenied
        if form.is_valid():
            try:
                token, raw = tokens_module().token_create(actor=request.user, user=owner,
                                                          name=form.cleaned_data["name"],
                                                          scopes=form.scopes(), expires_at=form.expires_at())
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Token “%(name)s” made. Copy it now: it is not shown again.") % {
                    "name": token.name})
                form = TokenForm()
    rows = [{"token": token, "scopes": _scope_text(token)} for token in ApiToken.objects.filter(user=owner)]
    return render(request, "api/tokens.html", {"form": form if allowed else None, "rows": rows, "raw": raw,
                                               "owner": owner, "is_own": owner.pk == request.user.pk,
                                               "docs_url": reverse("api_docs")})


def tokens_module():
    return tokens


@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk)
    if not (request.user.is_superuser or token.user_id == request.user.pk):
        raise PermissionDenied
    tokens.token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    url = reverse("api_tokens")
    if token.user_id != request.user.pk:
        url += f"?user={token.user_id}"
    return HttpResponseRedirect(url)
