from django.urls import path

from . import views

urlpatterns = [
    path("jobs/<int:pk>/", views.JobView.as_view(), name="lists_job"),
    path("<slug:entity>/columns/", views.ColumnsView.as_view(), name="lists_columns"),
    path("<slug:entity>/bulk/", views.BulkView.as_view(), name="lists_bulk"),
    path("<slug:entity>/segments/", views.SegmentCreateView.as_view(), name="lists_segment_create"),
    path("<slug:entity>/segments/<int:pk>/delete/", views.SegmentDeleteView.as_view(), name="lists_segment_delete"),
    path("<slug:entity>/segments/<int:pk>/count/", views.SegmentCountView.as_view(), name="lists_segment_count"),
]
