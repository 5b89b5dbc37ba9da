from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("", views.index, name="index"),
    path("export/", views.export, name="export"),
    path("anonymise/", views.anonymise, name="anonymise"),
]
