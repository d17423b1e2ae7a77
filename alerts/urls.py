from __future__ import annotations

from django.urls import path

from alerts import views

urlpatterns = [
    path("", views.alerts_page, name="alerts"),
    path("new/", views.alert_new, name="alert-new"),
    path("<int:rule_id>/", views.alert_edit, name="alert-edit"),
    path("<int:rule_id>/delete/", views.alert_delete, name="alert-delete"),
    path("contacts/new/", views.contact_new, name="contact-new"),
    path("contacts/<int:contact_id>/", views.contact_edit, name="contact-edit"),
    path(
        "contacts/<int:contact_id>/delete/",
        views.contact_remove,
        name="contact-delete",
    ),
    path("contacts/<int:contact_id>/test/", views.contact_test, name="contact-test"),
    path(
        "contacts/<int:contact_id>/secret/",
        views.contact_secret,
        name="contact-secret",
    ),
    path(
        "contacts/<int:contact_id>/resend/",
        views.contact_resend,
        name="contact-resend",
    ),
    path(
        "confirm/<str:token>/",
        views.contact_confirm_page,
        name="contact-confirm",
    ),
    path("deliveries/", views.deliveries_log, name="deliveries"),
]
