from django.urls import path

from . import views

app_name = "webforms"

urlpatterns = [
    path("settings/", views.form_list, name="list"),
    path("settings/new/", views.form_edit, name="new"),
    path("settings/<int:pk>/", views.form_edit, name="edit"),
    path("<slug:slug>/", views.form_page, name="form"),
    path("<slug:slug>/thanks/", views.thanks, name="thanks"),
    path("<slug:slug>/style.css", views.stylesheet, name="stylesheet"),
]
