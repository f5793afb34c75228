from django.urls import path

from . import views

urlpatterns = [
    path("", views.groups, name="dedup_groups"),
    path("check/<str:entity>/", views.check, name="dedup_check"),
    path("record/<str:entity>/<int:pk>/", views.record_candidates, name="dedup_record"),
    path("merge/<str:entity>/", views.MergeView.as_view(), name="dedup_merge"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="dedup_merge_undo"),
    path("scan/<str:entity>/", views.scan_start, name="dedup_scan"),
    path("scans/<int:pk>/", views.scan_status, name="dedup_scan_status"),
    path("groups/<int:pk>/not-duplicate/", views.group_not_duplicate, name="dedup_not_duplicate"),
    path("groups/<int:pk>/merge/", views.group_merge_auto, name="dedup_merge_auto"),
]
