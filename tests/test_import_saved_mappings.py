"""Saved mappings: whoever may import a record type saves and reuses mappings by name; nobody else does."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from dedup.importing import ImportDefaults, auto_map
from dedup.importing.models import ImportMapping
from dedup.importing.services import (
    import_mapping_delete,
    import_mapping_load,
    import_mapping_save,
    import_mappings,
)
from tests.factories import assign_role, make_user

pytestmark = pytest.mark.django_db
HEADERS = ["ФИО", "Телефон", "Мобильный", "Компания"]


@pytest.fixture
def importer():
    user = make_user("importer")
    assign_role("Head of sales", user=user)
    return user


@pytest.fixture
def manager():
    user = make_user("seller")
    assign_role("Sales manager", user=user)  # no import right
    return user


def test_save_reuse_and_replace_by_name(importer):
    mapping = auto_map(HEADERS, "contact")
    mapping.columns[1].target = "channel:phone:home"
    saved = import_mapping_save(user=importer, entity="contact", name="  Наш   Битрикс ", mapping=mapping,
                                options={"delimiter": ";", "encoding": "cp1251", "junk": "x"},
                                defaults=ImportDefaults(tags=("битрикс",), opened=True))
    assert saved.name == "Наш Битрикс" and saved.created_by == importer
    assert saved.options == {"delimiter": ";", "encoding": "cp1251"}
    loaded, options, defaults = import_mapping_load(user=importer, entity="contact", name="Наш Битрикс",
                                                    headers=["Компания", "Мобильный", "ФИО", "Телефон", "Новая"])
    assert [(c.header, c.target) for c in loaded.columns] == [
        ("Компания", "link:companies"), ("Мобильный", "channel:phone:mobile"), ("ФИО", "special:full_name"),
        ("Телефон", "channel:phone:home"), ("Новая", "")]
    assert options["encoding"] == "cp1251"
    assert defaults == ImportDefaults(tags=("битрикс",), opened=True)
    mapping.columns[1].target = "channel:phone:work"
    import_mapping_save(user=importer, entity="contact", name="Наш Битрикс", mapping=mapping)
    assert ImportMapping.objects.filter(entity="contact").count() == 1
    assert list(import_mappings(user=importer, entity="contact").values_list("name", flat=True)) == ["Наш Битрикс"]
    assert not import_mappings(user=importer, entity="company").exists()
    import_mapping_delete(user=importer, entity="contact", name="Наш Битрикс")
    assert not ImportMapping.objects.exists()


def test_without_the_import_right_nothing_is_saved_or_shown(importer, manager):
    mapping = auto_map(HEADERS, "contact")
    import_mapping_save(user=importer, entity="contact", name="Общая", mapping=mapping)
    with pytest.raises(PermissionDenied):
        import_mapping_save(user=manager, entity="contact", name="Моя", mapping=mapping)
    with pytest.raises(PermissionDenied):
        import_mapping_load(user=manager, entity="contact", name="Общая", headers=HEADERS)
    with pytest.raises(PermissionDenied):
        import_mapping_delete(user=manager, entity="contact", name="Общая")
    assert not import_mappings(user=manager, entity="contact").exists()
    assert ImportMapping.objects.count() == 1


def test_bad_names_and_mismatched_entities(importer):
    mapping = auto_map(HEADERS, "contact")
    with pytest.raises(ValidationError):
        import_mapping_save(user=importer, entity="contact", name="   ", mapping=mapping)
    with pytest.raises(ValidationError):
        import_mapping_save(user=importer, entity="contact", name="x" * 101, mapping=mapping)
    with pytest.raises(ValidationError):
        import_mapping_save(user=importer, entity="company", name="Не та", mapping=mapping)
    with pytest.raises(ValidationError):
        import_mapping_load(user=importer, entity="contact", name="Нет такой", headers=HEADERS)
    assert not ImportMapping.objects.exists()
