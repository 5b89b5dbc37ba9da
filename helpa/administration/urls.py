from django.urls import path

from . import views

app_name = "administration"

urlpatterns = [
    path("", views.index, name="index"),
    path("ticket-fields/", views.helpdesk_settings, name="settings"),
    path("brands/<int:pk>/delete/", views.brand_delete, name="brand_delete"),
    path("<slug:section>/", views.section_list, name="list"),
    path("<slug:section>/new/", views.section_edit, name="new"),
    path("<slug:section>/<int:pk>/", views.section_edit, name="edit"),
]
