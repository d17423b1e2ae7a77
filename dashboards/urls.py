from __future__ import annotations

from django.urls import path

from dashboards import views, views_sharing, views_widgets

urlpatterns = [
    path("", views.home, name="home"),
    path("d/new/", views.dashboard_new, name="dashboard-new"),
    path("d/import/", views.dashboard_import, name="dashboard-import"),
    path("d/reorder/", views.dashboard_reorder, name="dashboard-reorder"),
    path("d/<int:dashboard_id>/", views.dashboard_page, name="dashboard"),
    path("d/<int:dashboard_id>/rename/", views.dashboard_rename, name="dashboard-rename"),
    path("d/<int:dashboard_id>/duplicate/", views.dashboard_duplicate, name="dashboard-duplicate"),
    path("d/<int:dashboard_id>/delete/", views.dashboard_delete, name="dashboard-delete"),
    path("d/<int:dashboard_id>/layout/", views.dashboard_layout, name="dashboard-layout"),
    path("d/<int:dashboard_id>/export.json", views.dashboard_export, name="dashboard-export"),
    path("d/<int:dashboard_id>/widgets/new/", views_widgets.widget_new, name="widget-new"),
    path(
        "d/<int:dashboard_id>/widgets/<int:widget_id>/",
        views_widgets.widget_edit,
        name="widget-edit",
    ),
    path(
        "d/<int:dashboard_id>/widgets/<int:widget_id>/delete/",
        views_widgets.widget_delete,
        name="widget-delete",
    ),
    path("d/<int:dashboard_id>/sharing/", views_sharing.sharing, name="sharing"),
    path("d/<int:dashboard_id>/sharing/add/", views_sharing.share_add, name="share-add"),
    path(
        "d/<int:dashboard_id>/sharing/<int:user_id>/remove/",
        views_sharing.share_remove,
        name="share-remove",
    ),
    path("d/<int:dashboard_id>/link/", views_sharing.link_create, name="link-create"),
    path("d/<int:dashboard_id>/link/revoke/", views_sharing.link_revoke, name="link-revoke"),
    path("share/<str:token>/", views.link_page, name="link-page"),
]
