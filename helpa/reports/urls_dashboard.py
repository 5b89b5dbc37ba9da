from django.urls import path

from . import views_dashboard

app_name = "reports_dashboard"
urlpatterns = [
    path("", views_dashboard.index, name="index"),
]
