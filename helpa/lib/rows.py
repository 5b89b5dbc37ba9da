"""One new row, written the way `Model.save()` writes it, for the few hot paths that create a row
for every incoming mail (the ticket, its first article and history line, the raw message's row,
the auto-reply in the outbox); and one row read the way a QuerySet reads it, for the look-ups
every incoming mail makes (`fetch`).

`save()` rebuilds its INSERT statement for every call — a third of a millisecond, more than the
database takes to run it. `insert` builds the statement once per model and only prepares the
values (each field's own `pre_save` and `get_db_prep_save`, so defaults, `auto_now_add`, file
names and JSON come out exactly as with `save()`). No signals are sent: use it only for models
nothing listens to, or `create`, which sends `save()`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save

M = TypeVar("M", bound=Model)


# Fields whose value goes to the database unchanged when it is of one of these exact types (or
# None): their `pre_save` only reads the attribute and their `get_db_prep_save` returns such a
# value as it is. (A DateTimeField without auto_now/auto_now_add is handled alike: an aware
# datetime only needs the backend's adaptation.) Any other value, and every other field, takes
# the field's own way.
_PLAIN: dict[type[Field], tuple[type, ...]] = {
    models.CharField: (str,),
    models.EmailField: (str,),
    models.TextField: (str,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.BooleanField: (bool,),
    models.ForeignKey: (int,),
}


@cache
def _statement(
    model: type[Model], vendor: str
) -> tuple[str, tuple[tuple[Field, str, tuple[type, ...]], ...], bool]:
    """The INSERT of every concrete field but an automatic primary key, the fields with their
    attribute names and plain types (see _PLAIN), and whether it returns the new key
    (PostgreSQL and SQLite both can: RETURNING)."""
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if not (f.primary_key and f.db_returning))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    returning = meta.pk is not None and meta.pk.db_returning
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"
    if returning:
        sql += f" RETURNING {quote(meta.pk.column)}"
    prepared = []
    for f in fields:
        # A subclass may prepare its values its own way: only these exact classes are plain.
        plain = _PLAIN.get(type(f), ())
        if plain and type(f).pre_save is not Field.pre_save:
            plain = ()
        if type(f) is models.DateTimeField and not (
            getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ):
            plain = (datetime,)
        prepared.append((f, f.attname, plain))
    return sql, tuple(prepared), returning


def _value(
    db: BaseDatabaseWrapper, instance: Model, field: Field, attname: str, plain: tuple[type, ...]
) -> Any:
    if plain:
        value = getattr(instance, attname)
        if value is None:
            return None
        if type(value) in plain:
            if plain[0] is datetime:
                # What DateTimeField.get_db_prep_save does with an aware datetime.
                if value.utcoffset() is not None:
                    return db.ops.adapt_datetimefield_value(value)
                return field.get_db_prep_save(value, db)  # naive: its warning
            return value
        return field.get_db_prep_save(value, db)
    return field.get_db_prep_save(field.pre_save(instance, True), db)


def insert(instance: Model) -> Model:
    """Write `instance` as a new row and give it its primary key, like `instance.save()` for a
    new instance of a model without signal receivers."""
    # The connection itself, not the `connection` proxy: each use of the proxy looks the
    # connection up again (a thread- or task-local), and a row has dozens of them.
    db = connections[DEFAULT_DB_ALIAS]
    sql, fields, returning = _statement(type(instance), db.vendor)
    values = [_value(db, instance, f, attname, plain) for f, attname, plain in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, values)
        if returning:
            instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = db.alias
    return instance


def create(instance: M) -> M:
    """`insert`, with the `pre_save` and `post_save` signals `instance.save()` sends for a new
    row: for a model something listens to (the webhooks hear of every new contact)."""
    sender = type(instance)
    db = connections[DEFAULT_DB_ALIAS]
    pre_save.send(sender=sender, instance=instance, raw=False, using=db.alias, update_fields=None)
    insert(instance)
    post_save.send(
        sender=sender,
        instance=instance,
        created=True,
        update_fields=None,
        raw=False,
        using=db.alias,
    )
    return instance


@cache
def _select(
    model: type[Model], ops: Any
) -> tuple[str, tuple[str, ...], tuple[tuple[int, Any, tuple[Callable[..., Any], ...]], ...]]:
    """The SELECT of every concrete column, the field names, and for each column that needs
    them the converters a QuerySet applies (the backend's, then the field's: booleans and
    datetimes on SQLite, JSON …). Per connection's `ops`, whose converters are bound to it."""
    meta = model._meta
    quote = ops.quote_name
    fields = meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(meta.db_table)
        found = ops.get_db_converters(column) + column.get_db_converters(ops.connection)
        if found:
            converters.append((index, column, tuple(found)))
    columns = ", ".join(f"{quote(meta.db_table)}.{quote(f.column)}" for f in fields)
    sql = f"SELECT {columns} FROM {quote(meta.db_table)}"
    return sql, tuple(f.attname for f in fields), tuple(converters)


def fetch(model: type[M], where: str, params: Sequence[Any]) -> M | None:
    """The first row of `SELECT <every column> FROM <table> WHERE <where>` (which may end in
    ORDER BY … LIMIT 1) as an instance, exactly as `model.objects.filter(…).first()` builds it,
    or None. A QuerySet spends several times the statement's own time building the statement
    and its converters; here they are built once per model."""
    db = connections[DEFAULT_DB_ALIAS]
    sql, _names, _converters = _select(model, db.ops)
    with db.cursor() as cursor:
        cursor.execute(f"{sql} WHERE {where}", params)
        row = cursor.fetchone()
    return None if row is None else _instance(model, db, row)


def fetch_all(model: type[M], where: str, params: Sequence[Any]) -> list[M]:
    """Every row of `SELECT <every column> FROM <table> WHERE <where>`, as `fetch` builds one."""
    db = connections[DEFAULT_DB_ALIAS]
    sql, _names, _converters = _select(model, db.ops)
    with db.cursor() as cursor:
        cursor.execute(f"{sql} WHERE {where}", params)
        found = cursor.fetchall()
    return [_instance(model, db, row) for row in found]


def _instance(model: type[M], db: BaseDatabaseWrapper, row: Sequence[Any]) -> M:
    _sql, names, converters = _select(model, db.ops)
    values = list(row)
    for index, column, functions in converters:
        value = values[index]
        for function in functions:
            value = function(value, column, db)
        values[index] = value
    return model.from_db(db.alias, names, values)
