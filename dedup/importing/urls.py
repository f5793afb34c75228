from django.urls import path

from . import views

urlpatterns = [
    path("<str:entity>/", views.upload, name="import_upload"),
    path("batch/<int:pk>/", views.batch_view, name="import_batch"),
    path("batch/<int:pk>/columns/", views.map_columns, name="import_map"),
    path("batch/<int:pk>/duplicates/", views.options, name="import_options"),
    path("batch/<int:pk>/progress/", views.progress, name="import_progress"),
    path("batch/<int:pk>/apply/", views.apply, name="import_apply"),
    path("batch/<int:pk>/cancel/", views.cancel, name="import_cancel"),
    path("batch/<int:pk>/undo/", views.undo, name="import_undo"),
    path("batch/<int:pk>/report.csv", views.report, name="import_report"),
]
