"""One viewset factory for every registered entity (`viewset_for(entity)`), and the bin.

Rights are the screens' own: every read through `visible_to` / crm_site.selectors (out of scope: 404), every write
through crm_site.services (a missing right: 403, bad data: 400 per field, a stale version: 409), field rules
hide and lock the same fields. A token's scopes narrow that further. A list's first page is a list; a page
beyond it is an export and needs the export right over its rows (and is logged as one)."""

from contextlib import nullcontext

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from access.fields import hidden_fields
from access.scopes import EXPORT, scope_q
from crm_site import selectors, services
from crm_site.expressions import walked_read
from crm_site.lists.selectors import few_rows

from . import bulk, hooks, idempotency, timeline_api
from .authentication import OnPostgres
from .errors import error_response
from .models import READ_SCOPE, WRITE_SCOPE, ApiToken
from .pagination import KeysetPagination, keyset_page, page_size, sort_order
from .permissions import TokenScopePermission, token_allows
from .serializers import RecordData, serializer_for, write_arguments
from .tokens import write_reason

ERROR_SCHEMA = OpenApiResponse(OpenApiTypes.OBJECT, description="per-field messages, or {detail}")
RESERVED_PARAMS = {"cursor", "page_size", "q", "sort", "segment", "format"}


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"


def parse_if_match(request):
    """The version the client saw: the If-Match header ("12", W/"12") or the body's "version"."""
    raw = request.headers.get("If-Match")
    if raw is None and isinstance(request.data, dict):
        raw = request.data.get("version")
    if raw is None or raw == "*":
        return None
    text = str(raw).strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 18:
        raise ApiValidationError({"version": [_("Give the version as a number.")]})
    return int(text)


class ApiView:
    """What every API view shares: body size, NUL-free parameters, the token's use counted by auth."""

    permission_classes = [OnPostgres, IsAuthenticated, TokenScopePermission]

    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.CRM_API_MAX_BODY:
            raise PayloadTooLarge(_("The request body is larger than %(size)s bytes.") % {
                "size": settings.CRM_API_MAX_BODY})
        for key, values in request.query_params.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                raise ParseError(_("Parameters may not contain NUL characters."))
        super().initial(request, *args, **kwargs)


class RecordViewSet(ApiView, viewsets.GenericViewSet):
    entity = None
    pagination_class = KeysetPagination
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.entity.model.objects.none()
        return self.entity.model.objects.visible_to(self.request.user, "read")

    def get_serializer_class(self):
        return serializer_for(self.entity)

    def get_object(self):
        obj = selectors.record_for_user_or_404(self.request.user, self.entity, self.kwargs["pk"])
        return obj

    def represent(self, objs, *, many=False):
        data = RecordData(self.request.user, self.entity, objs if many else [objs])
        serializer = self.get_serializer_class()(objs, many=many,
                                                 context={"user": self.request.user, "record_data": data})
        return serializer.data, data

    # -- reads

    def list(self, request, **kwargs):
        user, entity = request.user, self.entity
        params = request.query_params
        listed = selectors.entity_list(user=user, entity=entity, params=params, request=request,
                                       filters=any(key not in RESERVED_PARAMS for key in params))
        if listed.filterset is not None and listed.filterset.is_bound and not listed.filterset.is_valid():
            return Response(listed.filterset.errors, status=400)
        queryset = listed.queryset
        if params.get("segment"):
            queryset = hooks.segment_queryset(user, entity, params["segment"], queryset)
        expression, descending = sort_order(entity, params.get("sort", ""), hidden_fields(user, entity.key))
        size = page_size(request, settings.CRM_API_MAX_PAGE_SIZE)
        cursor = params.get("cursor") or ""
        if cursor:  # beyond the first page: an export, over rows the user may export
            export_scope = scope_q(user, entity.model, EXPORT)
            if export_scope is None:
                raise ApiPermissionDenied(_("Pages beyond the first are an export: you may not export these "
                                            "records."))
        selective = bool(listed.query) or bool(
            listed.filterset is not None and listed.filterset.is_bound and listed.filterset.form.changed_data)
        fence = selective and few_rows(queryset)
        with nullcontext() if fence else walked_read():  # see crm_site.expressions.walked_read
            rows, following = keyset_page(queryset, expression=expression, descending=descending, cursor=cursor,
                                          size=size, fence=fence)
        if cursor and rows:
            pks = [obj.pk for obj in rows]
            exportable = entity.model.objects.filter(export_scope, pk__in=pks).count()
            if exportable != len(pks):
                raise ApiPermissionDenied(_("Pages beyond the first are an export: some of these records are "
                                            "outside your export rights."))
            from access.audit import audit_log
            from access.models import AuditLog

            audit_log(AuditLog.EXPORT, request=request, model=entity.model, count=len(rows), details={
                "format": "api", "query": listed.query, "sort": params.get("sort", ""),
                "token": request.auth.pk if isinstance(request.auth, ApiToken) else None,
                "filters": {k: v for k, v in params.items() if k not in RESERVED_PARAMS}})
        results, _data = self.represent(rows, many=True)
        return Response({"next": following, "results": results})

    def retrieve(self, request, **kwargs):
        obj = self.get_object()
        body, data = self.represent(obj)
        return Response(body, headers={"ETag": f'"{data.versions.get(obj.pk, 0)}"'})

    # -- writes

    def _parsed(self, request, partial):
        if not isinstance(request.data, dict):
            raise ApiValidationError({"non_field_errors": [_("Send a JSON object.")]})
        serializer = self.get_serializer_class()(data=request.data, partial=partial,
                                                 context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        return write_arguments(self.entity, serializer.validated_data, partial=partial)

    def _written(self, obj, code=200):
        obj = type(obj).objects.get(pk=obj.pk)
        body, data = self.represent(obj)
        return Response(body, status=code, headers={"ETag": f'"{data.versions.get(obj.pk, 0)}"'})

    def create(self, request, **kwargs):
        def handler():
            arguments = self._parsed(request, partial=False)
            try:
                obj = services.record_create(user=request.user, entity=self.entity, reason=write_reason(request),
                                             **arguments)
            except (DjangoValidationError, PermissionDenied) as error:
                code, body = error_response(error)
                return Response(body, status=code)
            return self._written(obj, status.HTTP_201_CREATED)

        return idempotency.run_idempotent(request, handler)

    def partial_update(self, request, **kwargs):
        obj = self.get_object()

        def handler():
            arguments = self._parsed(request, partial=True)
            version = parse_if_match(request)
            try:
                saved = services.record_update(user=request.user, obj=obj, version=version,
                                               reason=write_reason(request), **arguments)
            except (DjangoValidationError, PermissionDenied) as error:
                code, body = error_response(error)
                return Response(body, status=code)
            return self._written(saved)

        return idempotency.run_idempotent(request, handler)

    def destroy(self, request, **kwargs):
        obj = self.get_object()
        version = parse_if_match(request)
        if version is not None:
            from crm_site import history

            if history.version(obj) != version:
                from crm_site.record_writes import VersionConflict

                code, body = error_response(VersionConflict(history.changed_since(obj, version)))
                return Response(body, status=code)
        try:
            services.record_delete(user=request.user, obj=obj)
        except (DjangoValidationError, PermissionDenied) as error:
            code, body = error_response(error)
            return Response(body, status=code)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # -- bulk and timeline

    def bulk(self, request, **kwargs):
        return idempotency.run_idempotent(request, lambda: bulk.bulk_view(self, request))

    def timeline(self, request, pk=None, **kwargs):
        obj = self.get_object()
        if request.method == "POST":
            return idempotency.run_idempotent(request, lambda: timeline_api.add_entry(request, obj))
        return timeline_api.list_entries(request, obj)


def _list_parameters(entity):
    """The schema's list parameters: the standard fields' filters. Built when the urls load, so without the
    sources that read the database (custom fields: `cf_<code>` filters work the same, per installation)."""
    from ..lists.filters import standard_filters

    parameters = [
        OpenApiParameter("q", str, description="quick search (name, phone in any format, email)"),
        OpenApiParameter("sort", str, enum=[*entity.sort_fields, *[f"-{k}" for k in entity.sort_fields]],
                         description="a list column; “-” for descending (newest first by default)"),
        OpenApiParameter("segment", int, description="a saved segment's id"),
    ]
    for definition in standard_filters(entity, None):
        name, item = definition.name, definition.filter
        many = item.__class__.__name__.startswith("ModelMultiple") or "Multiple" in item.__class__.__name__
        kind = bool if item.__class__.__name__ == "BooleanFilter" else (int if "Model" in item.__class__.__name__
                                                                         else str)
        parameters.append(OpenApiParameter(name, kind, many=many, explode=True, description="a list filter"))
    return parameters


_viewsets = {}


def _own(method):
    """A copy of a base method for one entity's viewset: extend_schema writes on the function, which would
    otherwise be shared by every entity (the last one's schema everywhere)."""

    def method_for_entity(self, request, *args, **kwargs):
        return method(self, request, *args, **kwargs)

    method_for_entity.__name__ = method.__name__
    method_for_entity.__doc__ = method.__doc__
    return method_for_entity


def viewset_for(entity):
    """The viewset class of `entity`, built once (any registered entity, the fifth one included)."""
    if entity.key in _viewsets:
        return _viewsets[entity.key]
    serializer = serializer_for(entity)
    tag = [entity.url_prefix]  # not the verbose name: the schema must not depend on the language at import
    bulk_request = bulk.request_serializer(entity)
    bulk_response = bulk.response_serializer(entity)
    errors = {400: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA}
    attrs = {
        "entity": entity,
        "serializer_class": serializer,
        "list": extend_schema(tags=tag, parameters=_list_parameters(entity),
                              responses={200: serializer(many=True), 400: ERROR_SCHEMA, 403: ERROR_SCHEMA})(
            _own(RecordViewSet.list)),
        "create": extend_schema(tags=tag, parameters=[OpenApiParameter(
            "Idempotency-Key", str, OpenApiParameter.HEADER)], responses={201: serializer, 409: ERROR_SCHEMA,
                                                                          422: ERROR_SCHEMA, **errors})(
            _own(RecordViewSet.create)),
        "retrieve": extend_schema(tags=tag, responses={200: serializer, 404: ERROR_SCHEMA})(_own(RecordViewSet.retrieve)),
        "partial_update": extend_schema(tags=tag, parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER),
            OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="the version read")],
            responses={200: serializer, 409: ERROR_SCHEMA, 422: ERROR_SCHEMA, **errors})(
            _own(RecordViewSet.partial_update)),
        "destroy": extend_schema(tags=tag, parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)],
                                 responses={204: None, 409: ERROR_SCHEMA, **errors})(_own(RecordViewSet.destroy)),
        "bulk": extend_schema(tags=tag, request=bulk_request, responses={200: bulk_response, 422: ERROR_SCHEMA,
                                                                         **errors},
                              parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)])(
            action(detail=False, methods=["post"], url_path="bulk")(_own(RecordViewSet.bulk))),
        "timeline": extend_schema(
            tags=tag, methods=["GET"], responses={200: timeline_api.EntrySerializer(many=True), 404: ERROR_SCHEMA},
            parameters=[OpenApiParameter("before", int, description="entries older than this entry id")])(
            extend_schema(tags=tag, methods=["POST"], request=timeline_api.EntryInputSerializer,
                          responses={201: timeline_api.EntrySerializer, 422: ERROR_SCHEMA, **errors},
                          parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)])(
                action(detail=True, methods=["get", "post"], url_path="timeline")(_own(RecordViewSet.timeline)))),
    }
    name = entity.url_prefix
    descriptions = {
        "list": f"The {name} you may read: `q` search, the list panel's filters, `sort`; keyset pages (`cursor`, "
                "an export beyond the first page).",
        "create": f"Create one of the {name} (the write services' validation, rights and field rules).",
        "retrieve": f"One of the {name} (404 outside your read scope). ETag: its version.",
        "partial_update": "Change the fields given; If-Match or `version` refuses a stale write (409).",
        "destroy": "Move the record to the bin.",
        "bulk": "Up to 1,000 records: create, or upsert by external id or by the duplicate rules.",
        "timeline": "The record's timeline entries (GET), or add a note, call, email, meeting or task (POST).",
    }
    for method, text in descriptions.items():
        attrs[method] = extend_schema(description=text)(attrs[method])
    attrs["__doc__"] = ""
    cls = type(f"{entity.model.__name__}ViewSet", (RecordViewSet,), attrs)
    _viewsets[entity.key] = cls
    return cls


# ---------------------------------------------------------------------------
# The bin


class BinItemSerializer(serializers.Serializer):
    entity = serializers.CharField()
    id = serializers.IntegerField()
    name = serializers.CharField()
    deleted_at = serializers.DateTimeField()


class BinViewSet(ApiView, viewsets.ViewSet):
    """The recycle bin: the records you may restore, newest deletion first; restore one."""

    @extend_schema(tags=["bin"], parameters=[
        OpenApiParameter("entity", str), OpenApiParameter("q", str),
        OpenApiParameter("page_size", int)], responses={200: inline_serializer(
            "BinPage", {"results": BinItemSerializer(many=True)}), 400: ERROR_SCHEMA})
    def items(self, request):
        from crm_site.registry import registry
        from trash.selectors import bin_rows

        key = request.query_params.get("entity", "")
        if key and key not in registry:
            raise ApiValidationError({"entity": [_("Unknown record type.")]})
        keys = [key] if key else registry.keys()
        keys = [k for k in keys if token_allows(request, k, READ_SCOPE)]
        size = page_size(request, settings.CRM_API_MAX_PAGE_SIZE)
        rows = []
        for k in keys:
            rows += list(bin_rows(request.user, entity_key=k, query=request.query_params.get("q", ""))[:size])
        rows.sort(key=lambda row: (row["deleted_at"], row["id"]), reverse=True)
        rows = rows[:size]
        by_key = {}
        for row in rows:
            by_key.setdefault(row["entity_key"], []).append(row["id"])
        names = {}
        for k, ids in by_key.items():
            for obj in registry[k].model.all_objects.filter(pk__in=ids):
                names[(k, obj.pk)] = str(obj)
        results = [{"entity": row["entity_key"], "id": row["id"], "name": names.get((row["entity_key"], row["id"]), ""),
                    "deleted_at": serializers.DateTimeField().to_representation(row["deleted_at"])} for row in rows]
        return Response({"results": results})

    @extend_schema(tags=["bin"], request=None, parameters=[
        OpenApiParameter("entity", str, OpenApiParameter.PATH, enum=None),
        OpenApiParameter("pk", int, OpenApiParameter.PATH)], responses={200: inline_serializer("Restored", {
        "restored": serializers.BooleanField(), "reason": serializers.CharField()}), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA,
        409: ERROR_SCHEMA})
    def restore(self, request, entity=None, pk=None):
        from crm_site.registry import registry
        from trash.services import bin_queryset, record_restore

        if entity not in registry or not str(pk).isdigit() or len(str(pk)) > 18:
            raise Http404
        if not token_allows(request, entity, WRITE_SCOPE):
            raise ApiPermissionDenied()
        model = registry[entity].model
        obj = bin_queryset(request.user, model).filter(pk=int(pk)).first()
        if obj is None:
            raise Http404
        result = record_restore(user=request.user, obj=obj)
        return Response({"restored": result.restored, "reason": str(result.reason or "")},
                        status=200 if result.restored else 409)
