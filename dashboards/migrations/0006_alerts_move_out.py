"""Alert rules, events, contact points, deliveries and manual sends move to the alerts app.

State only: the tables and rows stay, and `alerts 0001` takes the models over.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dashboards', '0005_widget_kind_from_table'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # Those that point at others first, so no model is left pointing at a deleted one.
            state_operations=[
                migrations.DeleteModel(name='Delivery'),
                migrations.DeleteModel(name='ManualSend'),
                migrations.DeleteModel(name='AlertEvent'),
                migrations.DeleteModel(name='AlertRule'),
                migrations.DeleteModel(name='ContactPoint'),
            ],
        ),
    ]
