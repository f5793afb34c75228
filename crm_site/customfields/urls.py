from django.urls import path

from . import views

urlpatterns = [
    path("files/<int:field_pk>/<int:record_pk>/", views.file_download, name="customfield_file"),
    path("exports/<int:pk>/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
