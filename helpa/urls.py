from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from helpa.accounts import views as account_views
from helpa.accounts.forms import LoginForm
from helpa.tickets import views as ticket_views

urlpatterns = [
    path("", ticket_views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", account_views.set_language, name="set_language"),
    path("", include("helpa.tickets.urls")),
    path("settings/rules/", include("helpa.automation.urls")),
    path("settings/sla/", include("helpa.automation.urls_sla")),
    path("", include("helpa.automation.urls_templates")),
    path("settings/retention/", include("helpa.automation.urls_retention")),
    path("settings/import/", include("helpa.crm.urls_import")),
    path("settings/privacy/", include("helpa.privacy.urls")),
    path("settings/webhooks/", include("helpa.api.urls_webhooks")),
    path("settings/sms/", include("helpa.sms.urls_settings")),
    path("settings/", include("helpa.administration.urls")),
    path("mail/", include("helpa.mail.urls")),
    path("sms/", include("helpa.sms.urls")),
    path("portal/", include("helpa.portal.urls")),
    path("forms/", include("helpa.webforms.urls")),
    path("kb/", include("helpa.kb.urls")),
    path("reports/", include("helpa.reports.urls")),
    path("api/v1/", include("helpa.api.urls")),
    path("api-tokens/", include("helpa.api.urls_tokens")),
    path("survey/", include("helpa.reports.urls_survey_public")),
    path("django-admin/", admin.site.urls),
]
