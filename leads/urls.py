from django.urls import path

from . import views

urlpatterns = [path("<int:pk>/convert/", views.convert, name="lead_convert")]
