"""Full-text search storage (different per database) and the ticket number series."""

from django.db import migrations


def create_search_storage(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE tickets_ticket ADD COLUMN search_document tsvector")
            cursor.execute(
                "CREATE INDEX ticket_search_idx ON tickets_ticket USING gin (search_document)"
            )
        else:
            # rowid is the ticket id; the thread is indexed as one "body" column.
            cursor.execute(
                "CREATE VIRTUAL TABLE tickets_ticket_fts USING fts5("
                "title, body, tokenize = 'unicode61 remove_diacritics 2')"
            )


def drop_search_storage(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS ticket_search_idx")
            cursor.execute("ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_document")
        else:
            cursor.execute("DROP TABLE IF EXISTS tickets_ticket_fts")


def create_number_series(apps, schema_editor):
    apps.get_model("tickets", "NumberSeries").objects.get_or_create(
        name="ticket", defaults={"next_value": 10001}
    )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.RunPython(create_search_storage, drop_search_storage),
        migrations.RunPython(create_number_series, migrations.RunPython.noop),
    ]
