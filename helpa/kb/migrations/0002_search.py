"""Full-text search storage for article texts (different per database, see kb/search.py)."""

from django.db import migrations


def create_search_storage(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE kb_articletext ADD COLUMN search_document tsvector")
            cursor.execute(
                "CREATE INDEX kb_articletext_search_idx ON kb_articletext "
                "USING gin (search_document)"
            )
        else:
            # rowid is the text's id; title and body hold Snowball stems; lang filters.
            cursor.execute(
                "CREATE VIRTUAL TABLE kb_articletext_fts USING fts5("
                "title, body, lang UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')"
            )


def drop_search_storage(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS kb_articletext_search_idx")
            cursor.execute("ALTER TABLE kb_articletext DROP COLUMN IF EXISTS search_document")
        else:
            cursor.execute("DROP TABLE IF EXISTS kb_articletext_fts")


class Migration(migrations.Migration):
    dependencies = [("kb", "0001_initial")]

    operations = [migrations.RunPython(create_search_storage, drop_search_storage)]
