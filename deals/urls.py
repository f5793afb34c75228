from django.urls import path

from . import views

urlpatterns = [
    path("board/", views.board, name="deal_board"),
    path("<int:pk>/move/", views.move, name="deal_move"),
]
