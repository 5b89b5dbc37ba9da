"""Operations our migrations share."""

from __future__ import annotations

from django.db import migrations, models


def without_index(
    model_name: str, name: str, field: models.Field, table: str, column: str, index: str
) -> migrations.SeparateDatabaseAndState:
    """A foreign key's AlterField to `db_index=False`, done as the one DROP INDEX it amounts
    to: on SQLite the AlterField itself would copy the whole table. `index` is the name Django
    gave the index (the same on SQLite and PostgreSQL); reversed, it is created again."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
            )
        ],
    )
