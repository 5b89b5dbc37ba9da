"""The mail channel's pages and endpoints (mounted under /mail/)."""

from django.urls import path

from . import views_admin, views_agent, views_inbound, views_outgoing, views_signatures

app_name = "mail"

urlpatterns: list = [
    # Entry points and admin pages are added by the parts that serve them.
    path("inbound/<slug:slug>/", views_inbound.inbound_webhook, name="inbound_webhook"),
    path("outgoing/<int:pk>/confirm/", views_outgoing.outgoing_confirm, name="outgoing_confirm"),
    path("outgoing/<int:pk>/discard/", views_outgoing.outgoing_discard, name="outgoing_discard"),
    path("outgoing/<int:pk>/message.eml", views_outgoing.outgoing_eml, name="outgoing_eml"),
    # Received mail on the ticket page (agents who see the ticket).
    path("received/<int:pk>/message.eml", views_agent.inbound_raw, name="inbound_raw"),
    path("received/<int:pk>/move/", views_agent.inbound_move, name="inbound_move"),
    path("received/<int:pk>/split/", views_agent.inbound_split, name="inbound_split"),
    # An agent's own signatures (personal and per brand).
    path("signatures/", views_signatures.my_signatures, name="my_signatures"),
    # Mail settings pages (admins).
    path("settings/received/", views_admin.inbound_list, name="inbound_list"),
    path(
        "settings/received/<int:pk>/reprocess/",
        views_admin.inbound_reprocess,
        name="inbound_reprocess",
    ),
    path("settings/received/<int:pk>/accept/", views_admin.inbound_accept, name="inbound_accept"),
    path(
        "settings/received/<int:pk>/discard/", views_admin.inbound_discard, name="inbound_discard"
    ),
    path("settings/queues/", views_admin.queue_list, name="queue_list"),
    path("settings/queues/<int:queue_id>/", views_admin.queue_edit, name="queue_edit"),
    path("settings/queues/<int:queue_id>/addresses/", views_admin.address_add, name="address_add"),
    path("settings/addresses/<int:pk>/delete/", views_admin.address_delete, name="address_delete"),
    path("settings/addresses/<int:pk>/sender/", views_admin.address_sender, name="address_sender"),
    path("settings/mailboxes/", views_admin.mailbox_list, name="mailbox_list"),
    path("settings/mailboxes/new/", views_admin.mailbox_edit, name="mailbox_new"),
    path("settings/mailboxes/<int:pk>/", views_admin.mailbox_edit, name="mailbox_edit"),
    path("settings/mailboxes/<int:pk>/delete/", views_admin.mailbox_delete, name="mailbox_delete"),
    path("settings/general/", views_admin.mail_settings, name="settings"),
]
