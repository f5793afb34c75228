from django.urls import path

from . import views

urlpatterns = [
    path("", views.BinListView.as_view(), name="trash_list"),
    path("restore/", views.BinRestoreView.as_view(), name="trash_restore"),
    path("purge/", views.BinPurgeView.as_view(), name="trash_purge"),
    path("delete/<slug:entity>/", views.BulkDeleteView.as_view(), name="trash_bulk_delete"),
    path("<slug:entity>/<int:pk>/", views.BinItemView.as_view(), name="trash_item"),
]
