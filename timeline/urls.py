from django.urls import path

from . import views

urlpatterns = [
    path("activities/", views.activities, name="timeline_activities"),
    path("notifications/", views.notifications, name="timeline_notifications"),
    path("counters/", views.counters, name="timeline_counters"),
    path("entry/<int:pk>/edit/", views.edit, name="timeline_edit"),
    path("entry/<int:pk>/delete/", views.delete, name="timeline_delete"),
    path("entry/<int:pk>/complete/", views.complete, name="timeline_complete"),
    path("<str:entity>/<int:pk>/", views.panel, name="timeline_panel"),
    path("<str:entity>/<int:pk>/add/<str:kind>/", views.add, name="timeline_add"),
]
