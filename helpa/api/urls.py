from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views, views_kb, views_reports, views_templates

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("me/", views.Me.as_view(), name="me"),
    path("tickets/", views.TicketList.as_view(), name="tickets"),
    path("tickets/<int:number>/", views.TicketDetail.as_view(), name="ticket"),
    path("tickets/<int:number>/status/", views.TicketStatus.as_view(), name="ticket_status"),
    path("tickets/<int:number>/reply/", views.TicketReply.as_view(), name="ticket_reply"),
    path("tickets/<int:number>/note/", views.TicketNote.as_view(), name="ticket_note"),
    path("tickets/<int:number>/children/", views.TicketChildren.as_view(), name="children"),
    path(
        "tickets/<int:number>/attachments/", views.TicketAttachments.as_view(), name="attachments"
    ),
    path(
        "tickets/<int:number>/attachments/<int:pk>/download/",
        views.AttachmentDownload.as_view(),
        name="attachment_download",
    ),
    path(
        "tickets/<int:number>/time-entries/", views.TicketTimeEntries.as_view(), name="time_entries"
    ),
    path(
        "tickets/<int:number>/time-entries/<int:pk>/",
        views.TicketTimeEntry.as_view(),
        name="time_entry",
    ),
    path("tickets/<int:number>/followers/", views.TicketFollowers.as_view(), name="followers"),
    path(
        "tickets/<int:number>/followers/<int:user_id>/",
        views.TicketFollower.as_view(),
        name="follower",
    ),
    path("contacts/", views.ContactList.as_view(), name="contacts"),
    path("contacts/<int:pk>/", views.ContactDetail.as_view(), name="contact"),
    path("companies/", views.CompanyList.as_view(), name="companies"),
    path("companies/<int:pk>/", views.CompanyDetail.as_view(), name="company"),
    path("queues/", views.QueueList.as_view(), name="queues"),
    path("queues/<int:pk>/", views.QueueDetail.as_view(), name="queue"),
    path("teams/", views.TeamList.as_view(), name="teams"),
    path("teams/<int:pk>/", views.TeamDetail.as_view(), name="team"),
    path("users/", views.UserList.as_view(), name="users"),
    path("users/<int:pk>/", views.UserDetail.as_view(), name="user"),
    path("brands/", views.BrandList.as_view(), name="brands"),
    path("brands/<int:pk>/", views.BrandDetail.as_view(), name="brand"),
    path("templates/", views_templates.TemplateList.as_view(), name="templates"),
    path("templates/<int:pk>/", views_templates.TemplateDetail.as_view(), name="template"),
    path(
        "canned-responses/",
        views_templates.CannedResponseList.as_view(),
        name="canned_responses",
    ),
    path(
        "canned-responses/<int:pk>/",
        views_templates.CannedResponseDetail.as_view(),
        name="canned_response",
    ),
    path("kb/articles/", views_kb.KbArticleList.as_view(), name="kb_articles"),
    path("kb/articles/<int:pk>/", views_kb.KbArticleDetail.as_view(), name="kb_article"),
    path("kb/categories/", views_kb.KbCategoryList.as_view(), name="kb_categories"),
    path("reports/", views_reports.ReportList.as_view(), name="reports"),
    path("reports/<slug:name>/", views_reports.ReportDetail.as_view(), name="report"),
]
