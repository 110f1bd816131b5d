from django.urls import path

from vinculo.interactions import views

urlpatterns = [
    path("my-day/", views.my_day, name="my_day"),
]
