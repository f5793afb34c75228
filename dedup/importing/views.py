"""The import wizard, one set of screens for every entity (registry-driven):

upload -> map columns -> duplicate control -> preview -> apply (progress) -> result (report, undo).

Who: users with the import right for the record type (403 otherwise); a batch is seen only by whoever started it
(and superusers): anyone else gets 404. The services check the rights again.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from access.scopes import IMPORT, READ, scope_q
from crm_site.models import Source
from crm_site.registry import registry

from . import pipeline
from .errors import ImportFileError
from .models import ImportBatch, ImportRow
from .rows import ImportDefaults
from .services import import_mapping_load, import_mapping_save, import_mappings
from .targets import mapping_targets

Status = ImportBatch.Status
Outcome = ImportRow.Outcome
SAMPLE_ROWS = 3
PREPARE_IN_REQUEST = 2 * 1024 * 1024  # bytes: a bigger file's preview is prepared by a worker
PAGE_SIZE = 100
ENCODINGS = [("", gettext_lazy("Detect automatically")), ("utf-8", "UTF-8"), ("cp1251", "Windows-1251"),
             ("utf-16", "UTF-16"), ("koi8-r", "KOI8-R"), ("cp1252", "Windows-1252")]
DELIMITERS = [("", gettext_lazy("Detect automatically")), (",", gettext_lazy("comma")),
              (";", gettext_lazy("semicolon")), ("tab", gettext_lazy("tab"))]
CRITERIA_LABELS = {
    "phone": gettext_lazy("phone"), "email": gettext_lazy("email"), "name": gettext_lazy("similar name"),
    "address": gettext_lazy("address"),
    "company": gettext_lazy("company"), "tax_id": gettext_lazy("tax ID (INN)"),
    "birthday": gettext_lazy("birthday"), "company_name": gettext_lazy("company name"),
    "website": gettext_lazy("website"),
}
OUTCOME_CLASSES = {Outcome.CREATE: "ok", Outcome.MERGE: "info", Outcome.REPLACE: "info", Outcome.SKIP: "muted",
                   Outcome.UNCHANGED: "muted", Outcome.IN_FILE: "muted", Outcome.AMBIGUOUS: "warn",
                   Outcome.POSSIBLE: "warn",
                   Outcome.CANNOT_EDIT: "warn", Outcome.ERROR: "error"}


def _entity(key):
    if key not in registry:
        raise Http404
    entity = registry[key]
    return entity


def _require_import(user, entity):
    if scope_q(user, entity.model, IMPORT) is None:
        raise PermissionDenied


def can_import(user, entity):
    return scope_q(user, entity.model, IMPORT) is not None


def _batch(request, pk):
    batch = get_object_or_404(ImportBatch, pk=pk)
    if batch.created_by_id != request.user.pk and not request.user.is_superuser:
        raise Http404
    entity = _entity(batch.entity)
    _require_import(request.user, entity)
    return batch, entity


def _context(entity, batch=None, step="upload", **extra):
    steps = [("upload", _("Upload")), ("map", _("Columns")), ("options", _("Duplicates")),
             ("preview", _("Preview")), ("result", _("Result"))]
    keys = [key for key, _label in steps]
    current = keys.index(step)
    return {"entity": entity, "batch": batch, "step": step,
            "steps": [{"key": key, "label": label, "done": index < current, "current": index == current}
                      for index, (key, label) in enumerate(steps)], **extra}


# ---------------------------------------------------------------------------
# 1. Upload


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (CSV, XLSX or vCard)"))
    encoding = forms.ChoiceField(label=gettext_lazy("Encoding"), choices=ENCODINGS, required=False)
    delimiter = forms.ChoiceField(label=gettext_lazy("Column separator"), choices=DELIMITERS, required=False)
    sheet = forms.CharField(label=gettext_lazy("Sheet (XLSX)"), required=False, max_length=100,
                            help_text=gettext_lazy("Empty: the first sheet."))


def upload(request, entity):
    entity = _entity(entity)
    _require_import(request.user, entity)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        options = {k: form.cleaned_data[k] for k in ("encoding", "delimiter", "sheet") if form.cleaned_data[k]}
        upload_file = form.cleaned_data["file"]
        batch = pipeline.batch_upload(user=request.user, entity=entity, content=upload_file, name=upload_file.name,
                                      options=options)
        try:
            with pipeline.open_batch_file(batch) as parsed:
                batch.file_format = parsed.format
                batch.save(update_fields=["file_format"])
        except ImportFileError as error:
            pipeline.batch_discard(batch)
            form.add_error("file", error.message)
        else:
            return HttpResponseRedirect(reverse("import_map", args=[batch.pk]))
    recent = ImportBatch.objects.filter(entity=entity.key, created_by=request.user).order_by("-pk")[:5]
    return render(request, "importing/upload.html", _context(entity, step="upload", form=form, recent=recent))


# ---------------------------------------------------------------------------
# 2. Columns


def _target_choices(entity):
    groups = {"field": [], "channel": [], "link": [], "special": [], "custom": []}
    for target in mapping_targets(entity):
        groups.setdefault(target.kind, []).append((target.key, str(target.label)))
    names = {"field": _("Fields"), "special": _("Names"), "channel": _("Phones, emails, links"),
             "link": _("Linked records"), "custom": _("Custom fields")}
    choices = [("", _("— don't import —"))]
    for kind in ("special", "field", "channel", "link", "custom"):
        if groups.get(kind):
            choices.append((str(names[kind]), groups[kind]))
    return choices


class DefaultsForm(forms.Form):
    owner = forms.ModelChoiceField(label=gettext_lazy("Responsible (when the file has none)"), required=False,
                                   queryset=get_user_model().objects.none())
    source = forms.ModelChoiceField(label=gettext_lazy("Source"), required=False, queryset=Source.objects.all())
    tags = forms.CharField(label=gettext_lazy("Tags for every record"), required=False, max_length=300,
                           help_text=gettext_lazy("Separated by commas."))
    opened = forms.BooleanField(label=gettext_lazy("Open to everyone"), required=False)
    save_as = forms.CharField(label=gettext_lazy("Save this mapping as"), required=False, max_length=100,
                              help_text=gettext_lazy("A name to reuse it for the next file of this shape."))

    def __init__(self, *args, user, entity, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        names = {f.name for f in entity.model._meta.get_fields()}
        for name in ("source", "opened", "tags"):
            if name not in names:
                del self.fields[name]


def map_columns(request, pk):
    batch, entity = _batch(request, pk)
    if batch.status not in (Status.NEW, Status.READY, Status.FAILED):
        return HttpResponseRedirect(reverse("import_batch", args=[batch.pk]))
    try:
        parsed = pipeline.open_batch_file(batch)
    except ImportFileError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(reverse("import_upload", args=[entity.key]))
    except OSError:  # the stored file is gone (cleaned up, or a batch of the API without a file)
        messages.error(request, _("The file of this import is no longer stored; upload it again."))
        return HttpResponseRedirect(reverse("import_upload", args=[entity.key]))
    with parsed:
        mapping = pipeline.batch_mapping(batch, parsed)
        defaults = ImportDefaults.from_json(batch.defaults)
        saved_name = request.GET.get("mapping")
        if saved_name:
            try:
                mapping, options, defaults = import_mapping_load(user=request.user, entity=entity, name=saved_name,
                                                                 headers=parsed.headers)
                batch.options = {**batch.options, **options}
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
        sample = [raw.values for raw in parsed.sample(SAMPLE_ROWS)]
        headers = parsed.headers
    choices = _target_choices(entity)
    valid_targets = {key for key, _l in choices if key} | {k for _g, items in choices if isinstance(items, list)
                                                          for k, _l in items}
    initial = {"owner": defaults.owner or request.user.pk, "source": defaults.source,
               "tags": ", ".join(defaults.tags), "opened": bool(defaults.opened)}
    form = DefaultsForm(request.POST or None, initial=initial, user=request.user, entity=entity)
    if request.method == "POST" and form.is_valid():
        for column in mapping.columns:
            value = request.POST.get(f"column-{column.index}", "")
            column.target = value if value in valid_targets else ""
            if not column.target:
                column.group = ""
        data = form.cleaned_data
        tags = tuple(t.strip() for t in (data.get("tags") or "").split(",") if t.strip())
        defaults = ImportDefaults(owner=data["owner"].pk if data.get("owner") else request.user.pk,
                                  source=data["source"].pk if data.get("source") else None, tags=tags,
                                  opened=True if data.get("opened") else None)
        if not mapping.mapped():
            form.add_error(None, _("Choose where at least one column goes."))
        else:
            pipeline.batch_configure(batch, mapping=mapping, defaults=defaults)
            if data.get("save_as"):
                try:
                    import_mapping_save(user=request.user, entity=entity, name=data["save_as"], mapping=mapping,
                                        options=batch.options, defaults=defaults)
                    messages.success(request, _("The mapping was saved as “%(name)s”.") % {"name": data["save_as"]})
                except ValidationError as error:
                    form.add_error("save_as", " ".join(error.messages))
            if not form.errors:
                return HttpResponseRedirect(reverse("import_options", args=[batch.pk]))
    columns = []
    for column in mapping.columns:
        columns.append({"index": column.index, "header": column.header, "target": column.target,
                        "samples": [str(row[column.index]) if column.index < len(row) and row[column.index]
                                    not in (None, "") else "" for row in sample]})
    saved = import_mappings(user=request.user, entity=entity)
    groups = [{"label": label, "options": items} for label, items in choices if isinstance(items, list)]
    return render(request, "importing/map.html", _context(
        entity, batch, step="map", columns=columns, groups=groups, form=form, saved=saved,
        headers=headers, parsed_format=batch.file_format, encoding=batch.options.get("encoding", "")))


# ---------------------------------------------------------------------------
# 3. Duplicate control


def _file_size(batch):
    from django.core.files.storage import default_storage

    try:
        return default_storage.size(batch.file)
    except (OSError, NotImplementedError):
        return 0


def _criteria_for(entity, user=None):
    from dedup.scoring import comparisons_for

    comparisons = set(comparisons_for(entity.key))
    out = []
    for criterion, codes in pipeline.CRITERIA.items():
        if criterion == "inn":
            continue
        if all(code in comparisons for code in codes):
            out.append((criterion, CRITERIA_LABELS.get(criterion, criterion)))
    from access.fields import hidden_fields
    from dedup.keys import criterion_fields

    hidden = hidden_fields(user, entity.key) if user is not None else set()
    for field in criterion_fields(entity.key):  # custom fields marked "finds duplicates", by their names
        if field.name not in hidden:
            out.append((field.name, field.label))
    return out


class OptionsForm(forms.Form):
    on_duplicate = forms.ChoiceField(label=gettext_lazy("When a row matches an existing record"),
                                     choices=ImportBatch.OnDuplicate.choices, widget=forms.RadioSelect)
    match = forms.MultipleChoiceField(label=gettext_lazy("Match on"), required=False,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text=gettext_lazy("Nothing checked: the duplicate rules decide (phone, "
                                                             "email and name together)."))
    all_or_nothing = forms.BooleanField(label=gettext_lazy("All or nothing: if any row is refused, import none"),
                                        required=False)
    create_possible = forms.BooleanField(
        label=gettext_lazy("Create possible duplicates"), required=False,
        help_text=gettext_lazy("Rows the duplicate engine is not sure about (a possible duplicate of a record or of "
                               "an earlier row) are held back and listed in the preview; tick this once you have "
                               "checked they are other people."))

    def __init__(self, *args, entity, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["match"].choices = _criteria_for(entity, user)


def options(request, pk):
    batch, entity = _batch(request, pk)
    if batch.status not in (Status.NEW, Status.READY, Status.FAILED):
        return HttpResponseRedirect(reverse("import_batch", args=[batch.pk]))
    form = OptionsForm(request.POST or None, entity=entity, user=request.user, initial={
        "on_duplicate": batch.on_duplicate, "match": batch.match, "all_or_nothing": batch.all_or_nothing,
        "create_possible": batch.create_possible})
    if request.method == "POST" and form.is_valid():
        pipeline.batch_configure(batch, on_duplicate=form.cleaned_data["on_duplicate"],
                                 match=form.cleaned_data["match"],
                                 all_or_nothing=form.cleaned_data["all_or_nothing"],
                                 create_possible=form.cleaned_data["create_possible"])
        if _file_size(batch) > PREPARE_IN_REQUEST:
            from .tasks import prepare_launch

            prepare_launch(batch, user=request.user)
            return HttpResponseRedirect(reverse("import_batch", args=[batch.pk]))
        try:
            pipeline.batch_prepare(batch, user=request.user)
        except ImportFileError as error:
            form.add_error(None, error.message)
        except OSError:
            form.add_error(None, _("The file of this import is no longer stored; upload it again."))
        else:
            return HttpResponseRedirect(reverse("import_batch", args=[batch.pk]))
    return render(request, "importing/options.html", _context(entity, batch, step="options", form=form))


# ---------------------------------------------------------------------------
# 4-6. Preview, progress, result


def _labels(entity):
    labels = {}
    model = entity.model
    for field in model._meta.get_fields():
        if hasattr(field, "verbose_name"):
            labels[field.name] = str(field.verbose_name)
    from crm_site.channels import CHANNEL_LABELS

    labels.update({str(k): str(v) for k, v in CHANNEL_LABELS.items()})
    for relation in entity.relations:
        labels[relation.name] = str(relation.label)
    return labels


def batch_view(request, pk):
    batch, entity = _batch(request, pk)
    if batch.status == Status.NEW:
        return HttpResponseRedirect(reverse("import_map", args=[batch.pk]))
    outcome = request.GET.get("outcome", "")
    rows = batch.rows.order_by("number")
    if outcome in Outcome.values:
        rows = rows.filter(outcome=outcome)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = _labels(entity)
    visible = set(entity.model.objects.visible_to(request.user, READ).filter(
        pk__in=[r.record_id or r.target_id for r in page if r.record_id or r.target_id]).values_list("pk", flat=True))
    shown = []
    for row in page:
        record = row.record_id or (row.target_id if row.outcome not in (Outcome.CANNOT_EDIT, Outcome.AMBIGUOUS, Outcome.POSSIBLE)
                                   else None)
        shown.append({
            "row": row, "css": OUTCOME_CLASSES.get(row.outcome, ""),
            "record": record if record in visible else None,
            "messages": [{"text": pipeline.message_text(m), "level": m.get("level", "")} for m in row.messages
                         if m.get("code") != "conflict"],  # the diff shows conflicts already
            "diff": [dict(d, label=labels.get(d["field"], d["field"])) for d in row.diff],
            "summary": _summary(row, batch),
        })
    counts = [{"outcome": value, "label": label, "count": batch.counts.get(value, 0),
               "css": OUTCOME_CLASSES.get(value, "")} for value, label in Outcome.choices if batch.counts.get(value)]
    step = "preview" if batch.status in (Status.READY, Status.PREPARING, Status.FAILED) else "result"
    return render(request, "importing/batch.html", _context(
        entity, batch, step=step, page=page, rows=shown, counts=counts, outcome=outcome,
        progress=pipeline.batch_progress(batch), writing=sum(batch.counts.get(o, 0) for o in pipeline.WRITING)))


def _summary(row, batch):
    """A few of the row's own values, so the user knows which row it is."""
    data = row.plan.get("data") or {}
    parts = [str(data[k]) for k in ("last_name", "first_name", "name", "title") if data.get(k)]
    if not parts and row.raw:
        parts = [str(v) for v in row.raw[:3] if v not in (None, "")]
    return " ".join(parts)[:80]


def progress(request, pk):
    batch, entity = _batch(request, pk)
    response = render(request, "importing/progress.html", {"batch": batch, "entity": entity,
                                                            "progress": pipeline.batch_progress(batch)})
    if batch.status not in (Status.APPLYING, Status.PREPARING) and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def apply(request, pk):
    from .tasks import import_launch

    batch, entity = _batch(request, pk)
    if batch.status == Status.READY:
        ImportBatch.objects.filter(pk=batch.pk, status=Status.READY).update(status=Status.APPLYING)
        import_launch(batch, user=request.user)
    return HttpResponseRedirect(reverse("import_batch", args=[batch.pk]))


@require_POST
def cancel(request, pk):
    batch, entity = _batch(request, pk)
    pipeline.batch_cancel(batch)
    messages.info(request, _("The import stops after the rows being written now."))
    return HttpResponseRedirect(reverse("import_batch", args=[batch.pk]))


@require_POST
def undo(request, pk):
    batch, entity = _batch(request, pk)
    try:
        report = pipeline.batch_undo(batch, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Undone: %(binned)s records moved to the bin, %(restored)s restored.") % report)
        if report["kept"]:
            messages.warning(request, _("Not reverted (changed after the import): rows %(rows)s.") % {
                "rows": ", ".join(map(str, report["kept"][:50]))})
    return HttpResponseRedirect(reverse("import_batch", args=[batch.pk]))


def report(request, pk):
    import io

    batch, entity = _batch(request, pk)
    stream = io.StringIO()
    pipeline.write_report_csv(batch, stream)
    response = HttpResponse("\ufeff" + stream.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-report.csv"'
    return response

