from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("login/link/", views.login_link_request, name="login_link_request"),
    path("login/link/<str:token>/", views.login_link, name="login_link"),
    path("register/", views.register, name="register"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("t/<int:number>/", views.ticket_detail, name="ticket"),
    path("t/<int:number>/close/", views.ticket_close, name="close"),
    path("t/<int:number>/reopen/", views.ticket_reopen, name="reopen"),
    path("t/<int:number>/files/<int:pk>/", views.attachment_download, name="attachment"),
    path("l/<str:token>/", views.link_page, name="link"),
    path("l/<str:token>/files/<int:pk>/", views.link_attachment, name="link_attachment"),
    path("logo/", views.logo, name="logo"),
    path("logo/<str:code>/", views.brand_logo, name="brand_logo"),
    path("settings/", views.portal_settings, name="settings"),
    path("agent/t/<int:number>/revoke-links/", views.revoke_links, name="revoke_links"),
]
