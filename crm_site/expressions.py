"""Query expressions the read path shares."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import BooleanField, Expression, F, Subquery

_walked = ContextVar("crm_walked_read", default=False)


@contextmanager
def walked_read():
    """Compile `InArray` as `IN (subquery)` inside this block: for a read PostgreSQL walks in the list's order,
    testing each row (a search matching many rows, `lists.few_rows` said no), a hashed SubPlan is one hash probe
    per row where `= ANY(ARRAY(…))` scans the whole array: `q=ова` (61,000 contacts at 20,000 matching companies)
    took 0.75-1.0 s for its first page at 1M contacts, 0.18 s so."""
    token = _walked.set(True)
    try:
        yield
    finally:
        _walked.reset(token)


class InArray(Expression):
    """`column = ANY(ARRAY(subquery))` on PostgreSQL, `column IN (subquery)` elsewhere and in a `walked_read()`.

    Why: an `id IN (subquery)` ORed with other conditions becomes a hashed SubPlan, a filter PostgreSQL can only
    check row by row, so the whole OR can use no index. `= ANY(ARRAY(…))` is an index condition (the subquery
    runs once, as an InitPlan), so an OR of it and trigram conditions is one BitmapOr, which then combines
    (BitmapAnd) with the list's other indexed filters."""

    conditional = True

    def __init__(self, queryset, field="pk"):
        super().__init__(output_field=BooleanField())
        self.column = F(field) if isinstance(field, str) else field
        self.subquery = queryset if isinstance(queryset, Subquery) else Subquery(queryset)

    def get_source_expressions(self):
        return [self.column, self.subquery]

    def set_source_expressions(self, exprs):
        self.column, self.subquery = exprs

    def _compile(self, compiler):
        column, column_params = compiler.compile(self.column)
        subquery, subquery_params = compiler.compile(self.subquery)
        return column, subquery, (*column_params, *subquery_params)

    def as_sql(self, compiler, connection):
        column, subquery, params = self._compile(compiler)
        return f"{column} IN {subquery}", params

    def as_postgresql(self, compiler, connection):
        if _walked.get():
            return self.as_sql(compiler, connection)
        column, subquery, params = self._compile(compiler)
        return f"{column} = ANY(ARRAY{subquery})", params


class ColumnContains(Expression):
    """`UPPER(<the row's table>.<column>) LIKE UPPER('%text%')` on a column the database keeps and the model does
    not know (crm_site.lists.related_names), as Django's `icontains` would compile it: a trigram index on
    `UPPER(column)` serves it."""

    conditional = True

    def __init__(self, column, text, alias=None):
        super().__init__(output_field=BooleanField())
        self.column, self.text, self.alias = column, text, alias

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        clone = self.copy()
        clone.alias = query.get_initial_alias() if query is not None else self.alias
        return clone

    def relabeled_clone(self, change_map):
        clone = self.copy()
        clone.alias = change_map.get(self.alias, self.alias)
        return clone

    def get_group_by_cols(self):
        return []

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(self.alias)
        pattern = f"%{connection.ops.prep_for_like_query(self.text)}%"
        return f"UPPER({table}.{connection.ops.quote_name(self.column)}) LIKE UPPER(%s)", [pattern]
