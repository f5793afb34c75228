"""The default roles, editable afterwards in the admin (Access → Roles).

Levels: 0 none, 1 own, 2 own + department, 3 own + department + subdepartments, 4 all open (the
subdepartment scope plus every record marked opened), 5 all. Each role fills the "*" row, which applies to
every entity (contacts, companies, leads, deals and any added later) until a cell is set per entity.

- Administrator: all, everywhere.
- Head of sales: reads the department tree and every open record; adds, edits, deletes, exports and imports
  within the department and its subdepartments (and so may reassign records inside it).
- Sales manager: own records only — reads, edits and deletes their own, may add; no export, no import,
  so a manager who leaves cannot take the base; cannot reassign (owner and opened need department level).
- Marketer: reads and exports the whole base; edits nothing, so every key field is read-only.
- Read-only auditor: reads everything, nothing else.
- Employee: the default role of a user with no role at all: reads own, department and open records,
  adds, edits and deletes own ones, exports and imports own ones.
"""

from django.db import migrations

NONE, OWN, DEPARTMENT, SUBDEPARTMENTS, ALL_OPEN, ALL = range(6)


def row(read=NONE, add=NONE, edit=NONE, delete=NONE, export=NONE, import_=NONE):
    return {"*": {"read": read, "add": add, "edit": edit, "delete": delete, "export": export, "import": import_}}


ROLES = [
    ("Administrator", "Everything, everywhere.", False, row(ALL, ALL, ALL, ALL, ALL, ALL)),
    ("Head of sales", "Their departments and subdepartments; every open record is readable.", False,
     row(ALL_OPEN, SUBDEPARTMENTS, SUBDEPARTMENTS, SUBDEPARTMENTS, SUBDEPARTMENTS, SUBDEPARTMENTS)),
    ("Sales manager", "Own records only; no export or import.", False, row(OWN, ALL, OWN, OWN)),
    ("Marketer", "Reads and exports the whole base; edits nothing.", False, row(read=ALL, export=ALL)),
    ("Read-only auditor", "Reads everything.", False, row(read=ALL)),
    ("Employee", "Default for users without a role: own, department and open records.", True,
     row(ALL_OPEN, ALL, OWN, OWN, OWN, OWN)),
]


def seed(apps, schema_editor):
    Role = apps.get_model("access", "Role")
    for name, description, is_default, matrix in ROLES:
        Role.objects.get_or_create(name=name, defaults={"description": description, "is_default": is_default,
                                                        "matrix": matrix})


def unseed(apps, schema_editor):
    apps.get_model("access", "Role").objects.filter(name__in=[r[0] for r in ROLES]).delete()


class Migration(migrations.Migration):
    dependencies = [("access", "0003_roles_fieldrules_grants")]

    operations = [migrations.RunPython(seed, unseed)]
