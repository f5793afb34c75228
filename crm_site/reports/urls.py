from django.urls import path

from . import views

urlpatterns = [
    path("activities/", views.activities, name="reports_activities"),
    path("export/<str:table>/", views.export, name="reports_export"),
]
