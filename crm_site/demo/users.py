"""The demo departments, users and roles: who the demo base belongs to (created once, never duplicated)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

DEMO_USERS = {
    # username: (first name, last name, email, superuser)
    "admin": ("Андрей", "Соколов", "admin@example.com", True),
    "head": ("Ольга", "Кузнецова", "o.kuznetsova@example.com", False),
    "manager1": ("Дмитрий", "Волков", "d.volkov@example.com", False),
    "manager2": ("Оксана", "Бондаренко", "o.bondarenko@example.com", False),
    "marketer": ("Тарас", "Коваленко", "t.kovalenko@example.com", False),
}
SALES, SALES_MOSCOW, SALES_KYIV, MARKETING = "Sales", "Sales — Moscow", "Sales — Kyiv", "Marketing"
# username -> role (seeded by access/migrations/0004_default_roles.py); head's Sales contains both manager teams.
DEMO_ROLES = {
    "admin": "Administrator", "head": "Head of sales", "manager1": "Sales manager", "manager2": "Sales manager",
    "marketer": "Marketer",
}
# username -> (department, primary)
DEMO_MEMBERSHIPS = {
    "head": [(SALES, True)],
    "manager1": [(SALES_MOSCOW, True)],
    "manager2": [(SALES_KYIV, True)],
    "marketer": [(MARKETING, True)],
}


def demo_users_exist():
    return get_user_model().objects.filter(username__in=DEMO_USERS).count() == len(DEMO_USERS)


@transaction.atomic
def ensure_demo_users(password="demo"):
    """The demo departments, the five demo users and their roles; returns {username: user}.

    Users that already exist are left as they are (password included); missing departments,
    memberships and role assignments are added. Safe to call any number of times.
    """
    from access.models import Department, Membership

    user_model = get_user_model()
    users, password_hash = {}, None
    for username, (first_name, last_name, email, superuser) in DEMO_USERS.items():
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password_hash = password_hash or make_password(password)  # one hash (slow on purpose) for all
            user = user_model.objects.create(
                username=username, first_name=first_name, last_name=last_name, email=email,
                password=password_hash, is_staff=superuser, is_superuser=superuser,
            )
        users[username] = user

    head = users["head"]
    sales = _department(Department, SALES, None, head)
    departments = {
        SALES: sales,
        SALES_MOSCOW: _department(Department, SALES_MOSCOW, sales, head),
        SALES_KYIV: _department(Department, SALES_KYIV, sales, head),
        MARKETING: _department(Department, MARKETING, None, None),
    }
    for username, memberships in DEMO_MEMBERSHIPS.items():
        user = users[username]
        has_primary = Membership.objects.filter(user=user, is_primary=True).exists()
        for name, primary in memberships:
            Membership.objects.get_or_create(
                user=user, department=departments[name], defaults={"is_primary": primary and not has_primary}
            )

    _assign_demo_roles(users)
    return users


def _assign_demo_roles(users):
    from access.models import Role, RoleAssignment

    roles = {role.name: role for role in Role.objects.filter(name__in=set(DEMO_ROLES.values()))}
    for username, role_name in DEMO_ROLES.items():
        if role_name in roles:
            RoleAssignment.objects.get_or_create(role=roles[role_name], user=users[username])


def _department(model, name, parent, head):
    department = model.objects.filter(name=name, parent=parent).order_by("pk").first()
    if department is None:
        department = model.objects.create(name=name, parent=parent, head=head)
    elif head is not None and department.head_id is None:
        department.head = head
        department.save(update_fields=["head"])
    return department

