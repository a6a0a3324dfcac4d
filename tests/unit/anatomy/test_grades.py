"""Grades: one checked value type for the grades of a scheme (result, report, truth, readings)."""

import doctest

import numpy as np
import pytest

from mibgscore.anatomy import grades as grades_module
from mibgscore.anatomy.grades import Grades, category_text
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, load_scheme


def test_grades_are_a_read_only_mapping_in_report_order():
    given = dict(reversed(list({**dict.fromkeys(SIOPEN_KEYS, 0), "pelvis": 5,
                                "skull": np.int64(2)}.items())))
    g = Grades("siopen", given)
    assert tuple(g) == SIOPEN_KEYS and g.scheme is load_scheme("siopen")
    assert g["pelvis"] == 5 and type(g["skull"]) is int
    assert g == {**dict.fromkeys(SIOPEN_KEYS, 0), "pelvis": 5, "skull": 2}
    assert g.to_dict() == dict(g) and list(g.to_dict()) == list(SIOPEN_KEYS)
    with pytest.raises(TypeError):
        g.grades["pelvis"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        g.scheme = load_scheme("curie")  # type: ignore[misc]


@pytest.mark.parametrize("scheme, grades, total, category", [
    ("siopen", {"skull": 3}, 3, "<=3"),
    ("siopen", {"skull": 3, "spine": 1}, 4, ">3"),
    ("siopen", dict.fromkeys(SIOPEN_KEYS, 6), 72, ">3"),
    ("curie", {"head": 2}, 2, "<=2"),
    ("curie", {"head": 2, "soft_tissue": 1}, 3, ">2"),
    ("curie", dict.fromkeys(CURIE_KEYS, 3), 30, ">2"),
])
def test_total_and_clinical_category(scheme, grades, total, category):
    g = Grades(scheme, {**Grades.zeros(scheme), **grades})
    assert g.total == total
    assert g.category == category


@pytest.mark.parametrize("scheme, change, match", [
    ("siopen", {"skull": 7}, r"SIOPEN grade 7 for skull \(0-6\)"),
    ("siopen", {"skull": -1}, r"SIOPEN grade -1 for skull \(0-6\)"),
    ("curie", {"head": 4}, r"Curie grade 4 for head \(0-3\)"),
    ("siopen", {"skull": 2.5}, "not a whole number"),
    ("siopen", {"skull": None}, "not a whole number"),
    ("siopen", {"femur": 1}, r"unknown \['femur'\]"),
])
def test_impossible_grades_are_refused(scheme, change, match):
    with pytest.raises(ValueError, match=match):
        Grades(scheme, {**Grades.zeros(scheme), **change})


def test_a_missing_segment_is_named():
    partial = {k: 0 for k in SIOPEN_KEYS if k != "spine"}
    with pytest.raises(ValueError, match=r"missing \['spine'\]"):
        Grades("siopen", partial)


def test_the_scale_is_the_scheme_s(tmp_path):
    text = (load_scheme.__globals__["resources"].files("mibgscore.anatomy.schemes")
            .joinpath("curie.toml").read_text(encoding="utf-8"))
    path = tmp_path / "wide_curie.toml"
    path.write_text(text.replace("max_grade = 3", "max_grade = 4"), encoding="utf-8")
    wide = load_scheme(path)
    assert Grades(wide, {**Grades.zeros(wide), "head": 4}).total == 4
    with pytest.raises(ValueError, match="0-3"):
        Grades("curie", {**Grades.zeros("curie"), "head": 4})


def test_category_text_and_doctests():
    assert category_text(0, 3) == "<=3" and category_text(4, 3) == ">3"
    assert doctest.testmod(grades_module).failed == 0
