from django.urls import path

from . import views_webhooks

app_name = "webhooks"

urlpatterns = [
    path("", views_webhooks.webhook_list, name="list"),
    path("<int:pk>/", views_webhooks.webhook_deliveries, name="deliveries"),
    path("<int:pk>/pause/", views_webhooks.webhook_pause, name="pause"),
    path("<int:pk>/resume/", views_webhooks.webhook_resume, name="resume"),
    path("<int:pk>/delete/", views_webhooks.webhook_delete, name="delete"),
    path("<int:pk>/test/", views_webhooks.webhook_test, name="test"),
    path(
        "<int:pk>/deliveries/<int:delivery_pk>/again/",
        views_webhooks.delivery_again,
        name="again",
    ),
]
