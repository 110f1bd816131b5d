"""PostgreSQL: the search document's words as a trigger-maintained tsvector with a GIN index
(customers.search: the list search's word-prefix match). No-op elsewhere."""

from django.db import migrations

from vinculo.customers import search


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            search.pg_ensure(cursor)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS customer_search_words")
            cursor.execute("ALTER TABLE customers_customer DROP COLUMN IF EXISTS search_words")


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_customfield_choice_labels")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
