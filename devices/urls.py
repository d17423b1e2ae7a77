from __future__ import annotations

from django.urls import path

from devices import views

urlpatterns = [
    path("", views.brokers_page, name="brokers"),
    path("new/", views.broker_new, name="broker-new"),
    path("<int:broker_id>/", views.broker_page, name="broker"),
    path("<int:broker_id>/delete/", views.broker_delete, name="broker-delete"),
    path("<int:broker_id>/routes/", views.broker_route_add, name="broker-route-add"),
    path(
        "<int:broker_id>/routes/<int:route_id>/delete/",
        views.broker_route_remove,
        name="broker-route-remove",
    ),
]
