"""`field__any=[...]`: the same rows as `field__in=[...]`, sent to PostgreSQL as `field = ANY(%s)` with the values
as one array parameter. Why: an IN list of thousands of placeholders (an import's 20,000 phones, a chunk's 1,000
ids) costs more to build, send and parse than the query takes to run. Other databases get the IN list."""

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


@ForeignObject.register_lookup  # a foreign key keeps its own lookups: `company_id__any` too
@Field.register_lookup
class AnyOf(In):
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        values = [value for value in dict.fromkeys(self.rhs) if value is not None]
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=True) for value in values]
        return f"{lhs} = ANY(%s)", (*lhs_params, values)
