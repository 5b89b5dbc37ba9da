from django.urls import path

from . import views_surveys as views

app_name = "reports_surveys"
urlpatterns = [
    path("", views.index, name="index"),
    path("profiles/", views.profile_list, name="profiles"),
    path("profiles/new/", views.profile_edit, name="profile_new"),
    path("profiles/<int:pk>/", views.profile_edit, name="profile_edit"),
    path("blocked/", views.block_list, name="blocks"),
    path("blocked/<int:pk>/delete/", views.block_delete, name="block_delete"),
]
