from django.urls import path

from . import views_stats

app_name = "reports_stats"
urlpatterns = [
    path("", views_stats.index, name="index"),
    path("tickets/", views_stats.tickets, name="tickets"),
]
