from django.urls import path

from . import views_import

app_name = "crm_import"

urlpatterns = [
    path("", views_import.import_start, name="start"),
    path("<int:pk>/", views_import.import_job, name="job"),
    path("<int:pk>/run/", views_import.import_run, name="run"),
]
