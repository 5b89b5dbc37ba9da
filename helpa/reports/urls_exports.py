from django.urls import path

from . import views_exports

app_name = "reports_exports"
urlpatterns = [
    path("tickets/", views_exports.tickets, name="tickets"),
    path("contacts/", views_exports.contacts, name="contacts"),
    path("companies/", views_exports.companies, name="companies"),
]
