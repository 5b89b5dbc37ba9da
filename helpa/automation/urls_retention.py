from django.urls import path

from . import views_retention as views

app_name = "retention"

urlpatterns = [
    path("", views.retention_settings, name="settings"),
    path("queues/<int:queue_id>/", views.policy_edit, name="edit"),
    path("queues/<int:queue_id>/preview/", views.policy_preview, name="preview"),
    path("tickets/<int:number>/legal-hold/", views.legal_hold, name="legal_hold"),
]
