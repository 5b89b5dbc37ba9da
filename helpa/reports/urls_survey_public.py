"""The customer's survey page, outside /reports/: no login, the link's token is the key."""

from django.urls import path

from . import views_surveys as views

app_name = "survey_public"
urlpatterns = [
    path("<str:token>/", views.survey, name="survey"),
]
