"""Full-text search index over customers (see vinculo/customers/search.py).

SQLite: an FTS5 external-content table kept in step by AFTER INSERT/UPDATE/DELETE triggers.
PostgreSQL: pg_trgm + unaccent and a GIN trigram index over a folded search document.
Other backends: nothing (search falls back to icontains)."""

from django.db import migrations

from vinculo.customers import search


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            search.sqlite_ensure(cursor, rebuild_if_missing=False)
            search.sqlite_rebuild(cursor)
        elif vendor == "postgresql":
            search.pg_ensure(cursor)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            for sql in search.SQLITE_DROP:
                cursor.execute(sql)
        elif vendor == "postgresql":
            for sql in search.PG_DROP:
                cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
