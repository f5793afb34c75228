"""Whose records: every generator shares its records among the demo users by the same plan.

`OwnerSchedule` draws (owner, opened) without replacement, so the counts are exact at any scale and the
two managers always get the closed records the access demo needs.
"""

from dataclasses import dataclass


@dataclass
class Owner:
    user_id: int
    department_id: int | None
    share: float
    opened_share: float
    min_closed: int = 0  # records not opened, whatever the scale
    min_total: int = 0
    min_opened: int = 0


def demo_owners(users):
    """manager1 and manager2 own most of the base (at least 30 closed records of each entity each)."""
    from access.scopes import primary_department

    plan = {"manager1": (0.40, 0.05, 30, 0, 0), "manager2": (0.38, 0.05, 30, 0, 0),
            "head": (0.11, 0.25, 0, 3, 1), "marketer": (0.06, 0.5, 0, 2, 1), "admin": (0.05, 0.5, 0, 2, 1)}
    owners = []
    for username, (share, opened, min_closed, min_total, min_opened) in plan.items():
        user = users[username]
        department = primary_department(user)
        owners.append(Owner(user.pk, department.pk if department else None, share, opened, min_closed, min_total,
                            min_opened))
    return owners


def owner_quotas(owners, total):
    """[(closed, opened)] per owner for an entity of `total` records (grown to meet the minimums)."""
    quotas = []
    for owner in owners:
        mine = owner.share * total
        opened = max(owner.min_opened, round(mine * owner.opened_share))
        closed = max(owner.min_closed, round(mine) - opened, owner.min_total - opened)
        quotas.append([closed, opened])
    return quotas


class OwnerSchedule:
    """Draws (owner, opened) without replacement from the quotas: exact counts at any scale."""

    def __init__(self, owners, quotas):
        self.owners = owners
        self.left = [list(q) for q in quotas]
        self.total = sum(c + o for c, o in quotas)

    def draw(self, rng):
        r = rng.randrange(self.total)
        for index, (closed, opened) in enumerate(self.left):
            n = closed + opened
            if r < n:
                is_opened = r >= closed
                self.left[index][1 if is_opened else 0] -= 1
                self.total -= 1
                return self.owners[index], is_opened
            r -= n
        raise IndexError("schedule exhausted")

