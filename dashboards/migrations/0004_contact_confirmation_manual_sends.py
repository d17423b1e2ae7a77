"""Email contact points are confirmed through a link; tests and links are counted per user.

Email contact points that exist before this migration keep working: their
address counts as confirmed (an on-call address that silently stopped getting
alerts after an upgrade would be worse than one that was never asked). Staff
can clear `confirmed_email` in the admin to ask again.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def keep_existing_addresses(apps, schema_editor):
    ContactPoint = apps.get_model("dashboards", "ContactPoint")
    ContactPoint.objects.filter(kind="email").update(confirmed_email=models.F("email"))


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0003_alter_widget_kind_widgetseries"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="contactpoint",
            name="confirmed_email",
            field=models.EmailField(
                blank=True,
                help_text="email: the address whose confirmation link was opened",
                max_length=254,
            ),
        ),
        migrations.AddField(
            model_name="contactpoint",
            name="confirm_sent",
            field=models.BigIntegerField(
                blank=True, help_text="email: UTC ms the last confirmation link was queued", null=True
            ),
        ),
        migrations.RunPython(keep_existing_addresses, migrations.RunPython.noop),
        migrations.CreateModel(
            name="ManualSend",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(help_text="test or confirm", max_length=10)),
                ("created", models.BigIntegerField(help_text="UTC ms")),
                (
                    "contact",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="dashboards.contactpoint",
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="manual_sends",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["owner", "created"], name="manual_send_recent")],
            },
        ),
    ]
