"""One proposal with its content, from SQL the ORM compiles once per process.

Every proposal page, the eligibility rules and the snapshot read a proposal with its call,
programme, issuer and lead unit, and eight lists: units, team, commitments, milestones, budget
lines, attachments, the call's targets and co-issuers (CONTENT). The queries are the same each time
but for the proposal's id, yet the ORM compiles them again on every load, and on the large seed
that compilation cost five times what PostgreSQL spent answering them (15.5 ms a load, 2.6 ms in
the database), on every page of the deadline surge.

``load`` compiles each query once (per database alias and process) with a stand-in id, keeps its
SQL, parameters and the ORM's value converters, and on each load runs the SQL with the real id (on
PostgreSQL all of it in one pipeline: one round trip) and builds the instances with
``Model.from_db``. It leaves them as ``with_content()`` leaves them: joined rows in the
related-object caches, the lists in the prefetch caches (an ordinary related queryset holding the
rows), each list row pointing back to its owner. ``tests/test_content.py`` compares the two on
every backend the suite runs on; the private parts of Django used here (the compiler's select list
and converters, the prefetch cache) are the ones the prefetching queryset itself uses.
"""

from contextlib import contextmanager, nullcontext

from django.db import connections, router
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.transaction import TransactionManagementError

from config.prepared import STAND_INS, Compiled, ObjectQuery, compile_objects, fits

# The joins of the proposal row, then each list: (owner, relation, joins of its rows, condition).
ROOT_JOINS = ("call__programme", "call__issuer", "lead_organization")
CONTENT = (
    ("", "units", ("organization",), None),
    ("", "team", ("person", "unit__organization"), None),
    ("", "commitments", ("target",), None),
    ("", "milestones", (), None),
    ("", "budget_lines", (), None),
    ("", "attachments", (), Q(removed_at__isnull=True)),
    ("call", "targets", (), None),
    ("call", "co_issuers", (), None),
)
_STAND_IN = STAND_INS[0]  # where the proposal's id goes (config.prepared)


def prefetches():
    """CONTENT as prefetch lookups, for Proposal.objects.with_content() (several proposals)."""
    from proposals.models import Proposal

    lookups = []
    for owner, relation, joins, condition in CONTENT:
        model = _owner_model(Proposal, owner)._meta.get_field(relation).related_model
        queryset = model._default_manager.select_related(*joins)
        lookups.append(Prefetch(f"{owner}__{relation}" if owner else relation, queryset=_where(queryset, condition)))
    return lookups


def load(
    pk,
    *,
    lists: bool = True,
    lock: bool = False,
    count_submissions: bool = False,
    lock_programme: bool = False,
    using: str | None = None,
):
    """The proposal with its call, programme, issuer and lead unit, and with lists=True its content
    (CONTENT); None if there is no such proposal. lock=True locks the proposal's row (only that
    row: see proposals.services._lock); count_submissions=True sets ``submission_count``;
    lock_programme=True then, after the content, takes the programme's settings lock shared
    (calls.locks) and reads the programme again, so the rules read its settings as locked (a change
    to them waits for the submits reading them, and they for it), and takes the limit locks of the
    team's people (eligibility.limit_locks_sql); the locks on PostgreSQL only."""
    from proposals.models import Proposal

    using = using or (router.db_for_write if lock or lock_programme else router.db_for_read)(Proposal)
    connection = connections[using]
    if not fits(connection, pk):
        return None
    if (lock or lock_programme) and connection.get_autocommit():
        # The ORM refuses this when it compiles a locking query; compiled once, it is checked here.
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    key = (using, connection.vendor)
    queries = [_compiled(key + (lock, count_submissions), lambda: _root_query(using, lock, count_submissions))]
    if lists:
        queries += [_compiled(key + part[:2], lambda part=part: _list_query(using, *part)) for part in CONTENT]
    if lock_programme:
        from proposals.eligibility import limit_locks_sql, settings_lock_sql

        advisory = connection.vendor == "postgresql"  # the locks are PostgreSQL's (calls.locks)
        if advisory:
            queries.append(_sql_query(key, settings_lock_sql, connection))
        programme_at = len(queries)
        queries.append(_compiled(key + ("programme",), lambda: _programme_query(using)))
        if advisory:
            queries.append(_sql_query(key, limit_locks_sql, connection))
    results = _run(connection, queries, pk)
    if not results[0]:
        return None
    root = queries[0].build(using, results[0][0])
    if count_submissions:
        root.submission_count = results[0][0][-1]
    if lists:
        loaded = zip(CONTENT, queries[1 : 1 + len(CONTENT)], results[1 : 1 + len(CONTENT)], strict=True)
        for (owner_path, relation, _joins, condition), query, rows in loaded:
            owner = root.call if owner_path else root
            _remember_list(owner, relation, [query.build(using, row) for row in rows], condition)
    if lock_programme:
        root.call.programme = queries[programme_at].build(using, results[programme_at][0])
    return root


def _run(connection, queries, pk) -> list:
    """Each query's rows. Every query takes the proposal's id, so on PostgreSQL they go in one
    pipeline: one round trip instead of one each, run one after the other by the server, all after
    the first one's lock (when it takes one) and each reading what is committed when it starts."""
    cursors = [connection.cursor() for _ in queries]
    try:
        with _pipeline(connection) if connection.vendor == "postgresql" and len(queries) > 1 else nullcontext():
            for query, cursor in zip(queries, cursors, strict=True):
                query.compiled.send(cursor, (pk,))
        return [query.compiled.fetch(cursor, connection) for query, cursor in zip(queries, cursors, strict=True)]
    finally:
        for cursor in cursors:
            cursor.close()


@contextmanager
def _pipeline(connection):
    """psycopg's pipeline; its errors arrive when it is synced, as Django's exceptions."""
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


# --- compiling ---------------------------------------------------------------------------------
_cache: dict = {}


def _compiled(key, compile_query) -> ObjectQuery:
    """The query compiled once per key (database alias and vendor, and what it loads)."""
    query = _cache.get(key)
    if query is None:
        query = _cache[key] = compile_query()
    return query


def _root_query(using, lock, count_submissions) -> ObjectQuery:
    from proposals.models import Proposal, Submission

    queryset = Proposal._default_manager.using(using).filter(pk=_STAND_IN).order_by()
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    extra = []
    if count_submissions:
        counted = Submission._default_manager.filter(proposal=OuterRef("pk")).order_by().values("proposal")
        number = Subquery(counted.annotate(n=Count("pk")).values("n"))
        queryset = queryset.annotate(submission_count=Coalesce(number, 0))
        extra = ["submission_count"]
    return compile_objects(queryset, ROOT_JOINS, extra)


def _programme_query(using) -> ObjectQuery:
    """The programme's row, read after its settings lock (not locked itself: see calls.locks)."""
    from calls.models import Programme

    queryset = Programme._default_manager.using(using).filter(calls__proposals=_STAND_IN).order_by()
    return compile_objects(queryset)


def _sql_query(key, build_sql, connection) -> ObjectQuery:
    """A statement written by hand (a lock) that takes the proposal's id and builds no object."""

    def compile_sql():
        return ObjectQuery(Compiled(build_sql(connection), params=[_STAND_IN], slots=[(0, 0)], converters=[]), [])

    return _compiled(key + (build_sql.__name__,), compile_sql)


def _list_query(using, owner_path, relation, joins, condition) -> ObjectQuery:
    """A list's rows selected by the proposal's id (the call's lists through the call's proposals),
    in the order of their model, as the prefetch and the related manager give them."""
    from proposals.models import Proposal

    owner_model = _owner_model(Proposal, owner_path)
    field = owner_model._meta.get_field(relation)
    to_proposal = field.related_query_name() if field.many_to_many else field.field.name
    if owner_path:
        to_proposal += "__" + Proposal._meta.get_field(owner_path).related_query_name()
    queryset = field.related_model._default_manager.using(using).filter(**{to_proposal: _STAND_IN})
    return compile_objects(_where(queryset, condition), joins)


# --- helpers -----------------------------------------------------------------------------------
def _owner_model(root_model, owner_path):
    return root_model._meta.get_field(owner_path).related_model if owner_path else root_model


def _where(queryset, condition):
    return queryset.filter(condition) if condition is not None else queryset


def _remember_list(owner, relation, objects, condition) -> None:
    """Put the rows where the prefetch puts them: ``owner.<relation>.all()`` answers from them, and
    a further filter on it queries the database under the same condition."""
    manager = getattr(owner, relation)
    queryset = _where(manager.get_queryset(), condition)
    cache_name = getattr(manager, "prefetch_cache_name", None)  # many-to-many
    if cache_name is None:  # a reverse foreign key: each row points back to its owner
        for obj in objects:
            setattr(obj, manager.field.name, owner)
        cache_name = manager.field.remote_field.cache_name
    queryset._result_cache = objects
    queryset._prefetch_done = True
    if not hasattr(owner, "_prefetched_objects_cache"):
        owner._prefetched_objects_cache = {}
    owner._prefetched_objects_cache[cache_name] = queryset
