"""The mail channel's pages and endpoints (mounted under /mail/)."""

from django.urls import path

app_name = "mail"

urlpatterns: list = [
    # Entry points and admin pages are added by the parts that serve them.
]
