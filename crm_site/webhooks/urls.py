from django.urls import path

from . import views

urlpatterns = [
    path("", views.endpoint_list, name="webhook_list"),
    path("<int:pk>/", views.endpoint_detail, name="webhook_detail"),
    path("<int:pk>/delete/", views.endpoint_delete, name="webhook_delete"),
    path("deliveries/<int:pk>/redeliver/", views.delivery_redeliver, name="webhook_redeliver"),
]
