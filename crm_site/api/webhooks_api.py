"""`/api/v1/webhooks/`: the user's own webhook endpoints through the API (administrators: every one), and each
one's delivery log. The same rules as the site's webhook pages (crm_site.webhooks.views): making one is the
API right (may_make_tokens), a user's endpoint may not point into the company's network, another user's
endpoint is a 404. A token needs the "webhooks" scope (or "*"): read to list, write to change."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from crm_site.webhooks import services as webhooks
from crm_site.webhooks.models import Delivery, Endpoint

from .models import READ_SCOPE, WEBHOOKS_SCOPE, WRITE_SCOPE
from .pagination import page_size
from .permissions import token_allows
from .tokens import may_make_tokens
from .views import ERROR_SCHEMA, ApiView

MAX_DELIVERIES = 100


class EndpointSerializer(serializers.ModelSerializer):
    """Input is type-checked here; the site's EndpointForm decides what is valid (one set of rules)."""

    events = serializers.ListField(child=serializers.CharField(max_length=80), allow_empty=False,
                                   help_text='e.g. ["contact.created", "deal.stage_changed"]')
    fields = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                   help_text="send an update only when one of these fields changed (empty: any)")
    is_active = serializers.BooleanField(required=False)

    class Meta:
        model = Endpoint
        fields = ["id", "name", "url", "secret", "events", "fields", "is_active", "owner", "failing_since",
                  "paused_at", "created_at"]
        read_only_fields = ["id", "secret", "owner", "failing_since", "paused_at", "created_at"]
        extra_kwargs = {"url": {"validators": []}, "name": {"validators": []}}


class AttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    error = serializers.CharField()


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "delivery_id", "event", "object_id", "state", "attempts", "created_at", "next_attempt_at",
                  "delivered_at", "last_status", "last_error", "attempt_log"]


def _form_errors(form):
    return {("fields" if name == "fields_text" else name): list(errors) for name, errors in form.errors.items()}


class WebhookViewSet(ApiView, viewsets.GenericViewSet):
    serializer_class = EndpointSerializer
    lookup_value_regex = r"[0-9]{1,18}"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        scope = READ_SCOPE if request.method in ("GET", "HEAD", "OPTIONS") else WRITE_SCOPE
        if not token_allows(request, WEBHOOKS_SCOPE, scope):
            raise ApiPermissionDenied(_("This token has no scope for that."))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Endpoint.objects.none()
        return webhooks.endpoints_for(self.request.user)

    def get_object(self):
        if not str(self.kwargs.get("pk", "")).isdigit():
            from django.http import Http404

            raise Http404
        return get_object_or_404(self.get_queryset(), pk=int(self.kwargs["pk"]))

    def _save(self, request, endpoint, *, partial):
        if not isinstance(request.data, dict):
            raise ApiValidationError({"non_field_errors": [_("Send a JSON object.")]})
        parsed = EndpointSerializer(data=request.data, partial=partial)
        parsed.is_valid(raise_exception=True)
        created = endpoint.pk is None
        saved, form = webhooks.endpoint_save(user=request.user, endpoint=endpoint, data=parsed.validated_data)
        if saved is None:
            return Response(_form_errors(form), status=status.HTTP_400_BAD_REQUEST)
        return Response(EndpointSerializer(saved).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(tags=["webhooks"], responses={200: EndpointSerializer(many=True), 403: ERROR_SCHEMA})
    def list(self, request):
        return Response(EndpointSerializer(self.get_queryset().order_by("name", "pk"), many=True).data)

    @extend_schema(tags=["webhooks"], responses={201: EndpointSerializer, 400: ERROR_SCHEMA, 403: ERROR_SCHEMA})
    def create(self, request):
        if not may_make_tokens(request.user):
            raise ApiPermissionDenied(_("You may not register webhooks."))
        return self._save(request, Endpoint(owner=request.user), partial=False)

    @extend_schema(tags=["webhooks"], responses={200: EndpointSerializer, 404: ERROR_SCHEMA})
    def retrieve(self, request, pk=None):
        return Response(EndpointSerializer(self.get_object()).data)

    @extend_schema(tags=["webhooks"], responses={200: EndpointSerializer, 400: ERROR_SCHEMA, 403: ERROR_SCHEMA,
                                                 404: ERROR_SCHEMA})
    def partial_update(self, request, pk=None):
        return self._save(request, self.get_object(), partial=True)

    @extend_schema(tags=["webhooks"], responses={204: None, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA})
    def destroy(self, request, pk=None):
        webhooks.endpoint_delete(user=request.user, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["webhooks"], parameters=[OpenApiParameter("page_size", int)],
                   responses={200: DeliverySerializer(many=True), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA})
    def deliveries(self, request, pk=None):
        """The endpoint's delivery log, newest first: each delivery's state and its attempts."""
        endpoint = self.get_object()
        size = page_size(request, min(MAX_DELIVERIES, settings.CRM_API_MAX_PAGE_SIZE))
        rows = endpoint.deliveries.prefetch_related("attempt_log").order_by("-created_at", "-pk")[:size]
        return Response(DeliverySerializer(rows, many=True).data)
