from django.urls import path

from . import views_time

app_name = "reports_time"
urlpatterns = [
    path("", views_time.index, name="index"),
    path("entries/", views_time.entry_list, name="entries"),
]
