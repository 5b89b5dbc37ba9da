from django.urls import path

from . import views_sla

app_name = "sla"

urlpatterns = [
    path("", views_sla.sla_overview, name="overview"),
    path("calendars/new/", views_sla.calendar_edit, name="calendar_new"),
    path("calendars/<int:pk>/", views_sla.calendar_edit, name="calendar_edit"),
    path("calendars/<int:pk>/delete/", views_sla.calendar_delete, name="calendar_delete"),
    path("policies/new/", views_sla.policy_edit, name="policy_new"),
    path("policies/<int:pk>/", views_sla.policy_edit, name="policy_edit"),
    path("policies/<int:pk>/delete/", views_sla.policy_delete, name="policy_delete"),
]
