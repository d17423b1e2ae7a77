"""Alert rules, events, contact points, deliveries and manual sends move here from dashboards.

The rows stay where they are: the models are taken over on their tables (state
only), then the tables are renamed to this app's names (`alerts_*`, the rule's
contact points' table with them), and the content types — with the admin
permissions and log entries that point at them — change app. Backwards
(`migrate dashboards 0005`) renames them back and returns the content types.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ["alertrule", "alertevent", "contactpoint", "delivery", "manualsend"]


def content_types_move(apps, schema_editor, old, new):
    """Give the moved models' content types (and so their permissions) to the app `new`."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        moving = ContentType.objects.using(db).filter(app_label=old, model=model)
        if not moving.exists():
            continue
        # One made for `new` meanwhile (by a migrate of the code alone) holds nothing yet.
        ContentType.objects.using(db).filter(app_label=new, model=model).delete()
        moving.update(app_label=new)


def to_alerts(apps, schema_editor):
    content_types_move(apps, schema_editor, "dashboards", "alerts")


def to_dashboards(apps, schema_editor):
    content_types_move(apps, schema_editor, "alerts", "dashboards")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('dashboards', '0006_alerts_move_out'),
        ('streams', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AlertRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=120)),
                        ('field', models.CharField(max_length=80)),
                        ('condition', models.CharField(choices=[('above', 'above the threshold'), ('below', 'below the threshold'), ('anomaly', 'flagged as an anomaly'), ('nodata', 'no data (no sample for the set seconds)')], max_length=10)),
                        ('threshold', models.FloatField(blank=True, null=True)),
                        ('duration_seconds', models.PositiveIntegerField(default=0, help_text='how long the condition must hold, and then clear')),
                        ('no_data_seconds', models.PositiveIntegerField(default=0, help_text='silence after which the rule is “no data” (0: never)')),
                        ('on_stop', models.CharField(choices=[('nodata', 'mark it “no data”'), ('resolve', 'resolve it and stay quiet')], default='nodata', help_text='what a stop of the stream does to the rule', max_length=10)),
                        ('min_interval_seconds', models.PositiveIntegerField(default=300, help_text='at most one firing notice per this many seconds')),
                        ('enabled', models.BooleanField(default=True)),
                        ('state', models.CharField(choices=[('ok', 'OK'), ('pending', 'Pending'), ('firing', 'Firing'), ('nodata', 'No data')], default='ok', editable=False, max_length=10)),
                        ('state_since', models.BigIntegerField(blank=True, editable=False, null=True)),
                        ('pending_since', models.BigIntegerField(blank=True, editable=False, null=True)),
                        ('clearing_since', models.BigIntegerField(blank=True, editable=False, null=True)),
                        ('last_value', models.FloatField(blank=True, editable=False, null=True)),
                        ('last_notified', models.BigIntegerField(blank=True, editable=False, null=True)),
                        ('stream_stopped', models.BooleanField(default=False, editable=False)),
                        ('version', models.PositiveIntegerField(default=0, editable=False)),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alert_rules', to=settings.AUTH_USER_MODEL)),
                        ('stream', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alert_rules', to='streams.stream')),
                    ],
                    options={
                        'db_table': 'dashboards_alertrule',
                        'ordering': ['owner', 'name'],
                    },
                ),
                migrations.CreateModel(
                    name='AlertEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('firing', 'Firing'), ('nodata', 'No data')], default='firing', max_length=10)),
                        ('started', models.BigIntegerField(help_text='UTC ms of the sample or moment that opened it')),
                        ('resolved', models.BigIntegerField(blank=True, help_text='UTC ms of the sample or moment that closed it', null=True)),
                        ('value', models.FloatField(blank=True, null=True)),
                        ('message', models.CharField(max_length=300)),
                        ('reason', models.CharField(blank=True, help_text='why it opened', max_length=300)),
                        ('resolved_reason', models.CharField(blank=True, help_text='why it closed', max_length=300)),
                        ('notified', models.BooleanField(default=True, help_text="false when held back by the rule's notice interval")),
                        ('rule', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='alerts.alertrule')),
                    ],
                    options={
                        'db_table': 'dashboards_alertevent',
                        'ordering': ['-started'],
                    },
                ),
                migrations.CreateModel(
                    name='ContactPoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=120)),
                        ('kind', models.CharField(choices=[('webhook', 'Webhook'), ('email', 'Email'), ('browser', 'Browser notification')], max_length=10)),
                        ('url', models.URLField(blank=True, help_text='webhook: where to POST', max_length=500)),
                        ('email', models.EmailField(blank=True, help_text='email: the address', max_length=254)),
                        ('secret', models.CharField(editable=False, help_text='webhook: the HMAC-SHA256 signing key', max_length=64)),
                        ('enabled', models.BooleanField(default=True)),
                        ('created', models.DateTimeField(auto_now_add=True)),
                        ('confirmed_email', models.EmailField(blank=True, help_text='email: the address whose confirmation link was opened', max_length=254)),
                        ('confirm_sent', models.BigIntegerField(blank=True, help_text='email: UTC ms the last confirmation link was queued', null=True)),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='contact_points', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'dashboards_contactpoint',
                        'ordering': ['owner', 'name', 'id'],
                    },
                ),
                migrations.AddField(
                    model_name='alertrule',
                    name='contacts',
                    field=models.ManyToManyField(blank=True, related_name='rules', to='alerts.contactpoint'),
                ),
                migrations.CreateModel(
                    name='Delivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('state', models.CharField(help_text='firing, resolved, no data or test', max_length=10)),
                        ('reason', models.CharField(max_length=300)),
                        ('payload', models.JSONField(default=dict)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('held', 'Held back')], default='queued', max_length=10)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt', models.BigIntegerField(help_text='UTC ms')),
                        ('claimed_until', models.BigIntegerField(blank=True, null=True)),
                        ('response_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, max_length=300)),
                        ('created', models.BigIntegerField(help_text='UTC ms')),
                        ('finished', models.BigIntegerField(blank=True, help_text='UTC ms', null=True)),
                        ('contact', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='alerts.contactpoint')),
                        ('event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='deliveries', to='alerts.alertevent')),
                        ('rule', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='deliveries', to='alerts.alertrule')),
                    ],
                    options={
                        'db_table': 'dashboards_delivery',
                        'verbose_name_plural': 'deliveries',
                        'ordering': ['-id'],
                        'indexes': [models.Index(fields=['status', 'next_attempt'], name='delivery_due')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('event__isnull', False)), fields=('event', 'state', 'contact'), name='delivery_once_per_transition')],
                    },
                ),
                migrations.CreateModel(
                    name='ManualSend',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(help_text='test or confirm', max_length=10)),
                        ('created', models.BigIntegerField(help_text='UTC ms')),
                        ('contact', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='alerts.contactpoint')),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='manual_sends', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'dashboards_manualsend',
                        'indexes': [models.Index(fields=['owner', 'created'], name='manual_send_recent')],
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name='alertrule', table=None),
        migrations.AlterModelTable(name='alertevent', table=None),
        migrations.AlterModelTable(name='contactpoint', table=None),
        migrations.AlterModelTable(name='delivery', table=None),
        migrations.AlterModelTable(name='manualsend', table=None),
        migrations.RunPython(to_alerts, to_dashboards),
    ]
