"""Queries the ORM compiles once per process and runs again with other ids.

Some queries run on every save or submit and differ only in the ids they are given; the ORM
compiles them from scratch each time, which costs several times what the database spends answering
them (a four-table join of the application-limit rule: 2.4 ms through the ORM, 0.4 ms its SQL). A
``Prepared`` query is an ordinary ``values_list`` queryset built with stand-in ids; its SQL,
parameters and the ORM's value converters are kept per database alias, and each run puts the real
ids in the stand-ins' places. Integer ids and strings (a call's code) can be stand-ins; anything
else in the queryset is fixed when it is compiled. ``PreparedObject`` does the same for a lookup
of one row with its joined rows (select_related), built into model instances as the ORM builds
them; proposals.content uses the same parts for a proposal with all its lists.

The compiler's select list and converters are Django's own (private) parts, the ones QuerySet uses
to turn rows into values; the tests compare each prepared query with its queryset.
"""

from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router

STAND_INS = (-7_340_211, -7_340_223, -7_340_237, -7_340_251)  # ids no row has
TEXT_STAND_INS = tuple(f"\x1fjiebang-stand-in-{i}" for i in range(len(STAND_INS)))  # codes no row has


@dataclass
class Compiled:
    sql: str
    params: list
    slots: list  # (parameter position, argument index)
    converters: list  # (column, [converter], expression), as the ORM applies them

    def send(self, cursor, values) -> None:
        params = list(self.params)
        for position, argument in self.slots:
            params[position] = values[argument]
        cursor.execute(self.sql, params)

    def fetch(self, cursor, connection) -> list:
        rows = cursor.fetchall()
        if not self.converters:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for column, functions, expression in self.converters:
                value = row[column]
                for function in functions:
                    value = function(value, expression, connection)
                row[column] = value
            converted.append(row)
        return converted


def stand_in(argument: int, text: bool = False):
    return TEXT_STAND_INS[argument] if text else STAND_INS[argument]


def compile_values(queryset, arguments: int) -> Compiled:
    """Compile a values_list queryset built with stand_in(0), stand_in(1)… (up to ``arguments``) in
    place of its ids and codes."""
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    slots = []
    for i, p in enumerate(params):
        if isinstance(p, int) and p in STAND_INS:
            slots.append((i, STAND_INS.index(p)))
        elif isinstance(p, str) and p in TEXT_STAND_INS:
            slots.append((i, TEXT_STAND_INS.index(p)))
    missing = set(range(arguments)) - {argument for _position, argument in slots}
    if missing:
        raise ImproperlyConfigured(f"Stand-in ids {sorted(missing)} are not parameters of {sql}.")
    converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
    return Compiled(
        sql=sql,
        params=list(params),
        slots=slots,
        converters=[(i, functions, expression) for i, (functions, expression) in converters.items()],
    )


def fits(connection, value) -> bool:
    """Whether an id can be a parameter at all: an integer beyond the database's 64-bit range
    matches no row, but SQLite's driver raises OverflowError for it instead of finding nothing."""
    if not isinstance(value, int):
        return True  # anything else is the database's to refuse
    low, high = connection.ops.integer_field_range("BigAutoField")
    return low <= value <= high


class Prepared:
    """``build(*stand_ins)`` returns the values_list queryset; ``rows(*values)`` runs it with the
    values in the stand-ins' places. ``model`` ("app_label.Model") picks the database, as the
    queryset's model would; ``text`` lists the arguments that are strings (the others are integer
    ids). The values go into the SQL as they are, without the field's get_prep_value (a value given
    for a text argument is made a string)."""

    def __init__(self, build, *, model: str, text=()):
        self.build, self.model, self.text = build, model, set(text)
        self.arguments = build.__code__.co_argcount
        self._compiled = {}

    def _compile(self, queryset):
        return compile_values(queryset, self.arguments)

    def compiled(self, using: str):
        key = (using, connections[using].vendor)
        if key not in self._compiled:
            stand_ins = [stand_in(i, i in self.text) for i in range(self.arguments)]
            self._compiled[key] = self._compile(self.build(*stand_ins).using(using))
        return self._compiled[key]

    def rows(self, *values, using: str | None = None) -> list:
        using = self._using(using)
        values = self._values(values, using)
        return [] if values is None else self._run(self.compiled(using), values, using)

    def _using(self, using):
        return using or router.db_for_read(apps.get_model(self.model))

    def _values(self, values, using):
        """The values as the SQL takes them, or None when an id cannot match any row (fits)."""
        values = [str(v) if i in self.text else v for i, v in enumerate(values)]
        return values if all(fits(connections[using], v) for v in values) else None

    @staticmethod
    def _run(compiled: Compiled, values, using) -> list:
        connection = connections[using]
        with connection.cursor() as cursor:
            compiled.send(cursor, values)
            return compiled.fetch(cursor, connection)


# --- rows built into model instances -------------------------------------------------------------
@dataclass
class Node:
    """One model's columns within a row, and the forward relation that leads to it."""

    model: type
    path: tuple  # relation names from the row's own model
    parent: int | None  # the node it hangs from
    start: int = 0
    attnames: tuple = ()


@dataclass
class ObjectQuery:
    compiled: Compiled
    nodes: list

    def build(self, using, row):
        """The row's first model, each joined instance cached on its parent as select_related does."""
        objects = []
        for node in self.nodes:
            values = row[node.start : node.start + len(node.attnames)]
            parent = None if node.parent is None else objects[node.parent]  # built before its children
            obj = node.model.from_db(using, node.attnames, values)
            if parent is not None:
                setattr(parent, node.path[-1], obj)
            objects.append(obj)
        return objects[0]


def _nodes(model, joins) -> list:
    """The model and each model its joins reach, once each, every node after its parent."""
    nodes, index = [Node(model, (), None)], {(): 0}
    for join in joins:
        steps = tuple(join.split("__"))
        for depth in range(1, len(steps) + 1):
            path = steps[:depth]
            if path not in index:
                parent = index[path[:-1]]
                field = nodes[parent].model._meta.get_field(path[-1])
                if not field.many_to_one or field.null:
                    # Inner joins only: every joined row exists, so every node builds an object.
                    raise ImproperlyConfigured(f"{join}: joins must follow required foreign keys.")
                index[path] = len(nodes)
                nodes.append(Node(field.related_model, path, parent))
    return nodes


def compile_objects(queryset, joins=(), extra=(), arguments: int = 1) -> ObjectQuery:
    """Compile a queryset of its model (built with stand-ins) to select every concrete column of the
    model and of each model the ``joins`` reach (select_related paths), then the ``extra``
    annotations; ObjectQuery.build makes the instances of one row."""
    nodes = _nodes(queryset.model, joins)
    names = []
    for node in nodes:
        node.start = len(names)
        node.attnames = tuple(f.attname for f in node.model._meta.concrete_fields)
        names += ["__".join((*node.path, attname)) for attname in node.attnames]
    return ObjectQuery(compile_values(queryset.values_list(*names, *extra), arguments), nodes)


class PreparedObject(Prepared):
    """``build(*stand_ins)`` returns a queryset of ``model`` that matches at most one row (a unique
    lookup); ``get(*values)`` returns that row's instance with the ``joins`` built, or None."""

    def __init__(self, build, *, model: str, joins=(), text=()):
        super().__init__(build, model=model, text=text)
        self.joins = tuple(joins)

    def _compile(self, queryset) -> ObjectQuery:
        return compile_objects(queryset.order_by(), self.joins, arguments=self.arguments)

    def get(self, *values, using: str | None = None):
        using = self._using(using)
        values = self._values(values, using)
        if values is None:
            return None
        query = self.compiled(using)
        rows = self._run(query.compiled, values, using)
        return query.build(using, rows[0]) if rows else None
