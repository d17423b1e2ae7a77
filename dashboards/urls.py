from __future__ import annotations

from django.urls import path

from dashboards import views, views_alerts, views_contacts, views_sharing, views_widgets

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
    path("alerts/", views_alerts.alerts_page, name="alerts"),
    path("alerts/new/", views_alerts.alert_new, name="alert-new"),
    path("alerts/<int:rule_id>/", views_alerts.alert_edit, name="alert-edit"),
    path("alerts/<int:rule_id>/delete/", views_alerts.alert_delete, name="alert-delete"),
    path("alerts/contacts/new/", views_contacts.contact_new, name="contact-new"),
    path("alerts/contacts/<int:contact_id>/", views_contacts.contact_edit, name="contact-edit"),
    path(
        "alerts/contacts/<int:contact_id>/delete/",
        views_contacts.contact_remove,
        name="contact-delete",
    ),
    path(
        "alerts/contacts/<int:contact_id>/test/", views_contacts.contact_test, name="contact-test"
    ),
    path(
        "alerts/contacts/<int:contact_id>/secret/",
        views_contacts.contact_secret,
        name="contact-secret",
    ),
    path(
        "alerts/contacts/<int:contact_id>/resend/",
        views_contacts.contact_resend,
        name="contact-resend",
    ),
    path(
        "alerts/confirm/<str:token>/",
        views_contacts.contact_confirm_page,
        name="contact-confirm",
    ),
    path("alerts/deliveries/", views_contacts.deliveries_log, name="deliveries"),
]
