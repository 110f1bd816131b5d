"""PostgreSQL: keep the folded search document in a trigger-maintained ``search_doc`` column
with a GIN trigram index, instead of indexing the function (evaluating it per candidate row
at query time was the bottleneck). No-op elsewhere."""

from django.db import migrations

from vinculo.customers import search


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            search.pg_ensure(cursor)


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_search_index")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
