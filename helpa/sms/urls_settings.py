from django.urls import path

from . import views_settings

app_name = "sms_settings"

urlpatterns = [
    path("", views_settings.sms_settings, name="index"),
    path("inbound-address/", views_settings.new_inbound_address, name="inbound_address"),
    path("keywords/", views_settings.keyword_add, name="keyword_add"),
    path("keywords/<int:pk>/delete/", views_settings.keyword_delete, name="keyword_delete"),
    path("test/", views_settings.send_test, name="test"),
    path("received/<int:pk>/again/", views_settings.received_again, name="received_again"),
    path("sent/<int:pk>/again/", views_settings.sent_again, name="sent_again"),
]
