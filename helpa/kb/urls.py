from django.urls import path

from . import views

app_name = "kb"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_page, name="search"),
    path("c/<int:pk>/", views.category, name="category"),
    path("a/<int:pk>/", views.article_page, name="article"),
    path("a/<int:pk>/files/<int:file_pk>/", views.article_file, name="file"),
    path("a/<int:pk>/solved/", views.solved, name="solved"),
    path("suggest/", views.suggest, name="suggest"),
    path("suggest/ticket/", views.suggest_ticket, name="suggest_ticket"),
    path("agent/", views.agent_list, name="agent_list"),
    path("agent/new/", views.article_new, name="new"),
    path("agent/<int:pk>/", views.article_edit, name="edit"),
    path("agent/<int:pk>/delete/", views.article_delete, name="delete"),
    path("agent/categories/", views.category_list, name="categories"),
    path("agent/categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("agent/categories/<int:pk>/delete/", views.category_delete, name="category_delete"),
    path("agent/pick/", views.pick, name="pick"),
    path("agent/pick/<int:pk>/", views.pick_article, name="pick_article"),
    path("settings/", views.kb_settings, name="settings"),
]
