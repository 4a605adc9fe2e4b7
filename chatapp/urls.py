from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import (
    branch_views,
    export_views,
    file_views,
    folder_views,
    knowledge_views,
    language_views,
    maps_views,
    mcp_views,
    metrics,
    schedule_views,
    share_views,
    team_people_views,
    team_price_views,
    team_views,
    theme,
    usage_views,
    views,
    webhook_views,
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
    path("c/<int:pk>/branch", branch_views.branch, name="conversation_branch"),
    path("c/<int:pk>/<str:action>", views.conversation_action, name="conversation_action"),
    path("f/<int:pk>/", views.folder_home, name="folder"),
    path("folders/new", folder_views.create, name="folder_create"),
    path("folders/<int:pk>", folder_views.detail, name="folder_detail"),
    path("folders/<int:pk>/edit", folder_views.edit, name="folder_edit"),
    path("folders/<int:pk>/delete", folder_views.delete, name="folder_delete"),
    path("theme", theme.set_theme, name="set_theme"),
    path("import", export_views.import_conversation, name="import_conversation"),
    path("s/<str:token>", share_views.shared_page, name="shared"),
    path("s/<str:token>/files/<uuid:uuid>", share_views.shared_file, name="shared_file"),
    path("s/<str:token>/revoke", share_views.revoke_share, name="revoke_share"),
    path("sidebar/", views.sidebar, name="sidebar"),
    path("schedules/", schedule_views.schedules_page, name="schedules"),
    path("hooks/gemini/", webhook_views.gemini_webhook, name="gemini_webhook"),
    path("usage/", usage_views.my_usage, name="my_usage"),
    path("language", language_views.choose_language, name="choose_language"),
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
    # The team admin pages (staff only; superusers also keep /admin/).
    path("team/", team_people_views.people, name="team_people"),
    path("team/people/new", team_people_views.create_person, name="team_create_person"),
    path("team/invite", team_people_views.invite, name="team_invite"),
    path(
        "team/invitations/<int:pk>/revoke",
        team_people_views.revoke_invitation,
        name="team_revoke_invitation",
    ),
    path("team/people/<int:pk>/password", team_people_views.new_password, name="team_password"),
    path("team/people/<int:pk>/<str:action>", team_people_views.person_action, name="team_person"),
    path("join/<str:token>", team_people_views.join, name="join"),
    path("team/limits/", team_views.limits_page, name="team_limits"),
    path("team/limits/person", team_views.set_person_limits, name="team_person_limits"),
    path("team/limits/group", team_views.set_group_limits, name="team_group_limits"),
    path("team/limits/<str:kind>/<int:pk>/clear", team_views.clear_limits, name="team_clear"),
    path("team/groups/new", team_views.create_group, name="team_create_group"),
    path("team/groups/members", team_views.add_member, name="team_add_member"),
    path(
        "team/groups/<int:group_pk>/members/<int:pk>/remove",
        team_views.remove_member,
        name="team_remove_member",
    ),
    path("team/usage/", team_views.usage_page, name="team_usage"),
    path("team/usage.csv", team_views.usage_csv, name="team_usage_csv"),
    path("team/prices/", team_price_views.prices_page, name="team_prices"),
    path("team/prices/set", team_price_views.set_price, name="team_set_price"),
    path("team/prices/<int:pk>/reset", team_price_views.reset_price, name="team_reset_price"),
    path("team/audit/", team_views.audit_page, name="team_audit"),
    path("maps/widget", maps_views.maps_widget, name="maps_widget"),
    path("team/mcp/", mcp_views.mcp_page, name="team_mcp"),
    path("team/mcp/add", mcp_views.add_mcp_server, name="team_add_mcp"),
    path("team/mcp/<int:pk>/", mcp_views.edit_mcp_server, name="team_edit_mcp"),
    path("team/mcp/<int:pk>/delete", mcp_views.delete_mcp_server, name="team_delete_mcp"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
]

if settings.SSO_ENABLED:
    from .sso import urlpatterns as sso_urlpatterns

    urlpatterns += sso_urlpatterns  # /sso/login/ and /sso/callback/
