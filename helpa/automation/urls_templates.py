from django.urls import path

from . import views_templates as views

app_name = "templates"

urlpatterns = [
    path("settings/templates/", views.template_list, name="template_list"),
    path("settings/templates/new/", views.template_edit, name="template_new"),
    path("settings/templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("settings/templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
    path("settings/canned/", views.canned_list, name="canned_list"),
    path("settings/canned/new/", views.canned_edit, name="canned_new"),
    path("settings/canned/<int:pk>/", views.canned_edit, name="canned_edit"),
    path("settings/canned/<int:pk>/delete/", views.canned_delete, name="canned_delete"),
    path("settings/recurring/", views.recurring_list, name="recurring_list"),
    path("settings/recurring/new/", views.recurring_edit, name="recurring_new"),
    path("settings/recurring/<int:pk>/", views.recurring_edit, name="recurring_edit"),
    path("settings/recurring/<int:pk>/delete/", views.recurring_delete, name="recurring_delete"),
    path("t/<int:number>/repeat/", views.ticket_repeat, name="repeat"),
    path("tickets/new/template/<int:pk>/", views.ticket_from_template, name="ticket_from_template"),
    path(
        "tickets/new/template/<int:pk>/now/",
        views.ticket_from_template_now,
        name="ticket_from_template_now",
    ),
    path("t/<int:number>/template/", views.ticket_apply_template, name="apply"),
    path("t/<int:number>/save-as-template/", views.ticket_save_as_template, name="save_as"),
    path("t/<int:number>/canned/", views.ticket_canned_responses, name="canned_for_ticket"),
]
