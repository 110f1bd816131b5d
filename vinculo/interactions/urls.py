from django.urls import path

from vinculo.interactions import views

urlpatterns = [
    path("my-day/", views.my_day, name="my_day"),
    path("customers/<int:pk>/timeline/", views.customer_timeline, name="customer_timeline"),
    path("customers/<int:pk>/log/", views.quick_log, name="quick_log"),
    path("log/customers/", views.quick_log_customer_search, name="quick_log_customer_search"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:pk>/toggle/", views.task_toggle, name="task_toggle"),
    path("tasks/<int:pk>/delete/", views.task_delete, name="task_delete"),
]
