from django.urls import path

from . import views

urlpatterns = [
    path("share/<slug:entity>/<int:pk>/", views.share, name="access_share"),
    path("share/<slug:entity>/<int:pk>/revoke/<int:user_id>/", views.revoke, name="access_revoke"),
]
