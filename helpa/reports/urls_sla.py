from django.urls import path

from . import views_sla

app_name = "reports_sla"
urlpatterns = [path("", views_sla.index, name="index")]
