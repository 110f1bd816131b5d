"""PostgreSQL: a btree index over the search document for the quick search's "the name starts
with" pass (customers.search). No-op elsewhere."""

from django.db import migrations

from vinculo.customers import search


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            search.pg_ensure(cursor)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS customer_search_doc_prefix")


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_search_words")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
