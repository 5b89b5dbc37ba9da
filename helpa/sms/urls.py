"""The addresses SMS providers call (mounted under /sms/)."""

from django.urls import path

from . import views_provider

app_name = "sms"

urlpatterns = [
    path(
        "inbound/46elks/<str:secret>/",
        views_provider.inbound,
        {"provider": "46elks"},
        name="inbound_46elks",
    ),
    path("inbound/twilio/", views_provider.inbound, {"provider": "twilio"}, name="inbound_twilio"),
    path("status/<str:provider>/<str:signed>/", views_provider.status, name="status"),
]
