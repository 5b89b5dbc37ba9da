from django.urls import path

from . import views, views_contacts, views_merge, views_time

app_name = "tickets"

urlpatterns = [
    path("tickets/", views.overview_page, name="overview"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/saved/", views.saved_search_create, name="saved_search_create"),
    path("tickets/saved/<int:pk>/delete/", views.saved_search_delete, name="saved_search_delete"),
    path("t/<int:number>/", views.ticket_detail, name="detail"),
    path("t/<int:number>/thread/", views.ticket_thread, name="thread"),
    path("t/<int:number>/quick/", views.quick_edit, name="quick_edit"),
    path("t/<int:number>/save/", views.ticket_update, name="update"),
    path("t/<int:number>/post/", views.ticket_article, name="article"),
    path("t/<int:number>/close/", views.ticket_close, name="close"),
    path("t/<int:number>/follow/", views.ticket_follow, name="follow"),
    path("t/<int:number>/merge/", views_merge.ticket_merge, name="merge"),
    path("t/<int:number>/presence/", views.ticket_presence, name="presence"),
    path(
        "t/<int:number>/discussion/<int:article_id>/delete/",
        views.discussion_delete,
        name="discussion_delete",
    ),
    path(
        "t/<int:number>/time/<int:pk>/billable/",
        views_time.time_entry_billable,
        name="time_billable",
    ),
    path("t/<int:number>/time/<int:pk>/delete/", views_time.time_entry_delete, name="time_delete"),
    path("t/<int:number>/attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("tickets/choices/contacts/", views.contact_options, name="contact_options"),
    path("tickets/choices/companies/", views.company_options, name="company_options"),
    path("notifications/", views.notification_list, name="notifications"),
    path("contacts/", views_contacts.contact_list, name="contacts"),
    path("contacts/new/", views_contacts.contact_new, name="contact_new"),
    path("contacts/<int:pk>/", views_contacts.contact_detail, name="contact"),
    path("contacts/<int:pk>/merge/", views_contacts.contact_merge, name="contact_merge"),
    path("companies/", views_contacts.company_list, name="companies"),
    path("companies/new/", views_contacts.company_new, name="company_new"),
    path("companies/<int:pk>/", views_contacts.company_detail, name="company"),
]
