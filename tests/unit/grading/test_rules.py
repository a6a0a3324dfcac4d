import doctest

import pytest

from mibgscore.grading import rules
from mibgscore.grading.rules import grade_curie_segment, grade_siopen_segment, response


@pytest.mark.parametrize(("focal", "expected"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (9, 4)])
def test_siopen_focal_grades(focal, expected):
    assert grade_siopen_segment(focal, 0.0) == expected


@pytest.mark.parametrize(("fraction", "expected"), [
    (0.01, 4), (0.49, 4), (0.5, 5), (0.8, 5), (0.95, 5), (0.96, 6), (1.0, 6)])
def test_siopen_diffuse_grades(fraction, expected):
    assert grade_siopen_segment(0, fraction) == expected


def test_siopen_takes_the_higher_of_focal_and_diffuse():
    for focal in range(8):
        for fraction in (0.0, 0.2, 0.6, 1.0):
            assert grade_siopen_segment(focal, fraction) == max(
                grade_siopen_segment(focal), grade_siopen_segment(0, fraction))


@pytest.mark.parametrize(("sites", "fraction", "expected"), [
    (0, 0.0, 0), (1, 0.0, 1), (2, 0.0, 2), (7, 0.0, 2), (0, 0.3, 2), (0, 0.5, 2), (0, 0.51, 3),
    (3, 0.9, 3)])
def test_curie_grades(sites, fraction, expected):
    assert grade_curie_segment(sites, fraction) == expected


@pytest.mark.parametrize("bad", [(-1, 0.0), (0, 1.5), (0, -0.1)])
def test_impossible_inputs_raise(bad):
    with pytest.raises(ValueError):
        grade_siopen_segment(*bad)
    with pytest.raises(ValueError):
        grade_curie_segment(*bad)


@pytest.mark.parametrize(("before", "after", "expected"), [
    (10, 0, "complete"), (10, 5, "partial"), (10, 6, "stable"), (10, 12, "progression"),
    (0, 0, "none at baseline"), (0, 2, "progression")])
def test_response(before, after, expected):
    assert response(before, after) == expected


def test_doctests():
    assert doctest.testmod(rules).failed == 0
