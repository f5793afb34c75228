"""A record's timeline through the API: its entries (timeline.selectors) and adding a note, call, email, meeting
or task (timeline.services.entry_create, with the same form validation as the card)."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.response import Response

from timeline import selectors, services
from timeline.forms import entry_form_class
from timeline.models import KIND_FIELDS, USER_KINDS

PAGE = 50
ENTRY_FIELDS = ("id", "kind", "created_at", "author", "subject", "body", "direction", "phone", "duration", "result",
                "email_from", "email_to", "start", "end", "place", "participants", "deadline", "responsible", "state",
                "done_at")


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    author = serializers.IntegerField(source="author_id", allow_null=True)
    subject = serializers.CharField()
    body = serializers.CharField()
    direction = serializers.CharField()
    phone = serializers.CharField()
    duration = serializers.IntegerField(allow_null=True)
    result = serializers.CharField()
    email_from = serializers.CharField()
    email_to = serializers.CharField()
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True)
    place = serializers.CharField()
    participants = serializers.CharField()
    deadline = serializers.DateTimeField(allow_null=True)
    responsible = serializers.IntegerField(source="responsible_id", allow_null=True)
    state = serializers.CharField()
    done_at = serializers.DateTimeField(allow_null=True)


_all_fields = sorted({name for fields in KIND_FIELDS.values() for name in fields})


class EntryInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[str(k.value) for k in USER_KINDS])
    subject = serializers.CharField(required=False, allow_blank=True, max_length=255)
    body = serializers.CharField(required=False, allow_blank=True)
    direction = serializers.ChoiceField(choices=["in", "out"], required=False)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=50)
    duration = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    result = serializers.CharField(required=False, allow_blank=True, max_length=255)
    email_from = serializers.CharField(required=False, allow_blank=True, max_length=255)
    email_to = serializers.CharField(required=False, allow_blank=True, max_length=500)
    start = serializers.DateTimeField(required=False, allow_null=True)
    end = serializers.DateTimeField(required=False, allow_null=True)
    place = serializers.CharField(required=False, allow_blank=True, max_length=255)
    participants = serializers.CharField(required=False, allow_blank=True)
    deadline = serializers.DateTimeField(required=False, allow_null=True)
    responsible = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)


def list_entries(request, obj):
    queryset = selectors.entries_for_record(request.user, obj)
    before = request.query_params.get("before", "")
    if before:
        if not before.isdigit() or len(before) > 18:
            return Response({"before": [_("Give an entry id.")]}, status=400)
        queryset = queryset.filter(pk__lt=int(before))
    entries = list(queryset[:PAGE])
    return Response({"results": EntrySerializer(entries, many=True).data})


def add_entry(request, obj):
    if not isinstance(request.data, dict):
        return Response({"non_field_errors": [_("Send a JSON object.")]}, status=400)
    parsed = EntryInputSerializer(data=request.data)
    parsed.is_valid(raise_exception=True)
    values = dict(parsed.validated_data)
    kind = values.pop("kind")
    data = {}
    for name, value in values.items():
        if name not in KIND_FIELDS[kind] or value is None:
            continue
        data[name] = value.strftime("%Y-%m-%dT%H:%M:%S") if hasattr(value, "strftime") else str(value)
    form = entry_form_class(kind)(data=data, user=request.user)
    if not form.is_valid():
        return Response({name: [str(m) for m in messages] for name, messages in form.errors.items()}, status=400)
    try:
        entry = services.entry_create(user=request.user, obj=obj, form=form)
    except PermissionDenied:
        return Response({"detail": _("You may not add entries to this record.")}, status=403)
    return Response(EntrySerializer(entry).data, status=201)
