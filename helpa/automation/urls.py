from django.urls import path

from . import views

app_name = "automation"

urlpatterns = [
    path("", views.rule_list, name="list"),
    path("new/", views.rule_edit, name="new"),
    path("test/", views.rule_tester, name="tester"),
    path("export/", views.rules_export, name="export"),
    path("<int:pk>/", views.rule_edit, name="edit"),
    path("<int:pk>/toggle/", views.rule_toggle, name="toggle"),
    path("<int:pk>/delete/", views.rule_delete, name="delete"),
    path("<int:pk>/dry-run/", views.rule_dry_run, name="dry_run"),
]
