"""The shared layer every input passes before a view sees it: text without NUL or control characters, ids that
are bounded integers, a quick search of a sensible length.

- `InputSanityMiddleware` refuses (400, a translated page) any request whose query string or form body holds NUL
  or another C0 control character (tab, line feed and carriage return are text), or a query-string value longer
  than `MAX_QUERY_VALUE`; nothing behind it runs, so a refused request writes nothing. PostgreSQL can't store NUL
  in text and answers a search for it with an error; other controls only hide formulas and break exports.
- `parse_id()` / `parse_ids()`: the one way views read an id from a query string or a form: digits only, within
  the 64-bit range every database accepts, else None / left out (a 25-digit id is "no such record", not a 500).
- `clean_text()`: what the export writes and the model layer stores: the same controls removed.
"""

import re

from django.http import HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

# C0 controls and DEL, except tab, line feed and carriage return.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_ID = 2**63 - 1
MAX_QUERY_VALUE = 2_000  # characters in one query-string value (filters, ids, sort...)
MAX_SEARCH = 200  # characters in a quick search


def has_controls(text):
    return bool(CONTROL_CHARS.search(text))


def clean_text(text):
    """`text` without NUL and the other control characters a field never holds (tab and new lines stay)."""
    return CONTROL_CHARS.sub("", text)


def parse_id(value):
    """A positive id from a string or int, or None (not digits, zero, negative, beyond 64 bits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_ids(values, *, separator=None):
    """Distinct valid ids, in order, from a list of strings (or one string split by `separator`); bad ones are
    left out."""
    if separator is not None:
        values = str(values or "").split(separator)
    out = []
    for value in values or ():
        number = parse_id(value)
        if number is not None and number not in out:
            out.append(number)
    return out


def search_too_long(query):
    return len(query) > MAX_SEARCH


def search_too_long_message():
    return _("The search is too long: type at most %(count)s characters.") % {"count": MAX_SEARCH}


def _bad_request(request, message):
    if request.path.startswith("/api/"):  # the API answers in JSON, as its schema says
        from django.http import JsonResponse

        return JsonResponse({"detail": str(message)}, status=400)
    try:
        body = render_to_string("400.html", {"message": message}, request=request)
    except Exception:  # noqa: BLE001  (no template: plain text)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
    return HttpResponseBadRequest(body)


class InputSanityMiddleware:
    """Refuses requests carrying control characters or oversized query-string values (see the module's doc)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # After CsrfViewMiddleware (which has read the form already); a view's own upload handlers are set up
        # before that, so reading request.POST here changes nothing for them.
        for key, values in request.GET.lists():
            for value in [key, *values]:
                if has_controls(value):
                    return _bad_request(request, _("The address holds control characters; nothing was done."))
                if len(value) > MAX_QUERY_VALUE:
                    return _bad_request(request, _("A value in the address is too long; nothing was done."))
        if any(has_controls(str(arg)) for arg in [*view_args, *view_kwargs.values()]):
            if request.path.startswith("/api/"):  # no resource has such a name: the API's documented 404
                from django.http import JsonResponse

                return JsonResponse({"detail": str(_("Not found."))}, status=404)
            return _bad_request(request, _("The address holds control characters; nothing was done."))
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                 "multipart/form-data"):
            for key, values in request.POST.lists():
                for value in [key, *values]:
                    if has_controls(value):
                        return _bad_request(request, _("A field holds control characters (such as a NUL byte) "
                                                       "that no text may contain; nothing was saved."))
            for file in request.FILES.values():
                if has_controls(file.name or ""):
                    return _bad_request(request, _("A file name holds control characters; nothing was saved."))
        return None


def _too_big(value):
    text = str(value).strip()
    return text.lstrip("-").isdigit() and (len(text) > 19 or not -MAX_ID <= int(text) <= MAX_ID)


def guard_id_fields(form):
    """Make the form's record and list choices (ModelChoiceField, ModelMultipleChoiceField) refuse an id beyond
    64 bits as an invalid choice, instead of letting the database driver overflow (SQLite raises)."""
    from django import forms

    for field in form.fields.values():
        if isinstance(field, forms.ModelMultipleChoiceField) and not getattr(field, "_ids_guarded", False):
            check = field._check_values

            def _check_values(value, check=check, field=field):
                if any(_too_big(v) for v in value or ()):
                    raise forms.ValidationError(field.error_messages["invalid_choice"], code="invalid_choice",
                                                params={"value": str(next(v for v in value if _too_big(v)))[:30]})
                return check(value)

            field._check_values, field._ids_guarded = _check_values, True
        elif isinstance(field, forms.ModelChoiceField) and not getattr(field, "_ids_guarded", False):
            to_python = field.to_python

            def _to_python(value, to_python=to_python, field=field):
                if value is not None and not isinstance(value, type(None)) and _too_big(value):
                    raise forms.ValidationError(field.error_messages["invalid_choice"], code="invalid_choice")
                return to_python(value)

            field.to_python, field._ids_guarded = _to_python, True
    return form
