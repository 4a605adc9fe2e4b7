from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import (
    export_views,
    file_views,
    knowledge_views,
    metrics,
    schedule_views,
    share_views,
    usage_views,
    views,
)
from .limits import ThrottledAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    # gettext() and friends for the page's scripts, in the page's language.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("setup/", views.setup, name="setup"),
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True,
            authentication_form=ThrottledAuthenticationForm,  # sign-in throttle (chatapp.limits)
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("c/new", views.new_conversation, name="new_conversation"),
    path("c/<int:pk>/", views.conversation_page, name="conversation"),
    path("c/<int:pk>/settings", views.conversation_settings, name="conversation_settings"),
    path("c/<int:pk>/share", share_views.create_share, name="create_share"),
    path("c/<int:pk>/shares", share_views.list_shares, name="list_shares"),
    path("c/<int:pk>/export.md", export_views.export_markdown, name="export_markdown"),
    path("c/<int:pk>/export.json", export_views.export_json, name="export_json"),
    path("c/<int:pk>/<str:action>", views.conversation_action, name="conversation_action"),
    path("import", export_views.import_conversation, name="import_conversation"),
    path("s/<str:token>", share_views.shared_page, name="shared"),
    path("s/<str:token>/files/<uuid:uuid>", share_views.shared_file, name="shared_file"),
    path("s/<str:token>/revoke", share_views.revoke_share, name="revoke_share"),
    path("sidebar/", views.sidebar, name="sidebar"),
    path("schedules/", schedule_views.schedules_page, name="schedules"),
    path("usage/", usage_views.my_usage, name="my_usage"),
    path(
        "schedules/<int:pk>/<str:action>",
        schedule_views.schedule_action,
        name="schedule_action",
    ),
    path("upload", file_views.upload, name="upload"),
    path("files/<uuid:uuid>", file_views.serve, name="file"),
    path("kb/", knowledge_views.knowledge_list, name="knowledge_list"),
    path("kb/new", knowledge_views.knowledge_create, name="knowledge_create"),
    path("kb/cited", knowledge_views.cited_document, name="knowledge_cited"),
    path("kb/<int:pk>/", knowledge_views.knowledge_detail, name="knowledge_detail"),
    path("kb/<int:pk>/upload", knowledge_views.knowledge_upload, name="knowledge_upload"),
    path("kb/<int:pk>/<str:action>", knowledge_views.knowledge_action, name="knowledge_action"),
    path("kb/<int:pk>/d/<uuid:uuid>", knowledge_views.document_file, name="knowledge_document"),
    path(
        "kb/<int:pk>/d/<uuid:uuid>/<str:action>",
        knowledge_views.document_action,
        name="knowledge_document_action",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
]

if settings.SSO_ENABLED:
    from .sso import urlpatterns as sso_urlpatterns

    urlpatterns += sso_urlpatterns  # /sso/login/ and /sso/callback/
