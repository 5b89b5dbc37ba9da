"""Everything under /reports/, one URL module per part (each with its own namespace)."""

from django.urls import include, path

urlpatterns = [
    path("", include("helpa.reports.urls_dashboard")),
    path("statistics/", include("helpa.reports.urls_stats")),
    path("time/", include("helpa.reports.urls_time")),
    path("sla/", include("helpa.reports.urls_sla")),
    path("surveys/", include("helpa.reports.urls_surveys")),
    path("subscriptions/", include("helpa.reports.urls_subscriptions")),
    path("exports/", include("helpa.reports.urls_exports")),
]
