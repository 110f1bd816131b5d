"""The list search's word table (models.CustomerWord; decision 0018). PostgreSQL: its
triggers and prefix index, and its rows for every live customer (about 12 words a customer:
~40 s and ~2.5 GB with its indexes per million customers; run ``VACUUM ANALYZE
customers_customerword`` afterwards so its index-only scans stay index-only). On SQLite the
table stays empty."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from vinculo.customers import search


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            search.pg_words_ensure(cursor, fill=True)
            cursor.execute(f"ANALYZE {search.WORD_TABLE}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            search.pg_words_drop(cursor)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('customers', '0011_owner_team_stage_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerWord',
            fields=[
                ('pk', models.CompositePrimaryKey('customer_id', 'word', blank=True, editable=False, primary_key=True, serialize=False)),
                ('customer_id', models.BigIntegerField()),
                ('word', models.TextField()),
                ('name', models.CharField(max_length=255)),
                ('owner', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.team')),
            ],
            options={
                'verbose_name': 'customer search word',
            },
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
