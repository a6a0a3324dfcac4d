"""Grading rules of the SIOPEN and Curie scores as pure functions."""

from __future__ import annotations

from mibgscore.anatomy.grades import category_text
from mibgscore.anatomy.scheme import load_scheme

SIOPEN_DIFFUSE_WHOLE = 0.95
"""Diffuse involvement above this share of the bone is 'the whole bone' (SIOPEN grade 6)."""

SIOPEN_DIFFUSE_HALF = 0.5
"""Diffuse involvement from this share of the bone grades 5."""

MIN_DIFFUSE_FRACTION = 0.12
"""Diffuse involvement of less than this share of a segment is not graded as diffuse."""


def grade_siopen_segment(focal_count: int, diffuse_fraction: float = 0.0, *,
                         half: float = SIOPEN_DIFFUSE_HALF,
                         whole: float = SIOPEN_DIFFUSE_WHOLE) -> int:
    """Grade one SIOPEN segment from its lesions (Lewington et al., EJNMMI 2017).

    Parameters
    ----------
    focal_count : int
        Discrete lesions found in the segment.
    diffuse_fraction : float
        Share of the segment's bone with diffuse uptake, 0-1 (0: no diffuse lesion).
    half, whole : float
        Shares from which diffuse involvement grades 5 and 6 (a centre's calibration,
        :mod:`mibgscore.grading.calibration`, may move them).

    Returns
    -------
    int
        Grade 0-6: the higher of the focal grade (0-3 for 0-3 lesions, 4 for more) and the
        diffuse grade (4 below 50 %, 5 for 50-95 %, 6 above 95 %).

    Examples
    --------
    >>> grade_siopen_segment(focal_count=1, diffuse_fraction=0.6)
    5
    >>> grade_siopen_segment(focal_count=5)
    4
    """
    if focal_count < 0 or not 0.0 <= diffuse_fraction <= 1.0:
        raise ValueError(f"focal_count={focal_count}, diffuse_fraction={diffuse_fraction}")
    focal = min(focal_count, 4)
    if diffuse_fraction <= 0.0:
        diffuse = 0
    elif diffuse_fraction < half:
        diffuse = 4
    elif diffuse_fraction <= whole:
        diffuse = 5
    else:
        diffuse = 6
    return max(focal, diffuse)


def grade_curie_segment(site_count: int, diffuse_fraction: float = 0.0) -> int:
    """Grade one Curie segment (Ady et al. 1995; Yanik et al. 2013).

    Parameters
    ----------
    site_count : int
        Discrete lesions (sites) in the segment.
    diffuse_fraction : float
        Share of the segment involved by diffuse uptake, 0-1.

    Returns
    -------
    int
        0 none, 1 one site, 2 more than one site (or diffuse involvement of at most half the
        segment), 3 diffuse involvement of more than 50 % of the segment.

    Examples
    --------
    >>> grade_curie_segment(site_count=1)
    1
    >>> grade_curie_segment(site_count=0, diffuse_fraction=0.7)
    3
    """
    if site_count < 0 or not 0.0 <= diffuse_fraction <= 1.0:
        raise ValueError(f"site_count={site_count}, diffuse_fraction={diffuse_fraction}")
    if diffuse_fraction > 0.5:
        return 3
    if diffuse_fraction > 0.0 or site_count > 1:
        return 2
    return 1 if site_count == 1 else 0


def siopen_category(total: int, cutoff: int | None = None) -> str:
    """``"<=3"`` or ``">3"``: the SIOPEN table's cut-off (Ladenstein 2018); pass ``cutoff=4``
    for Decarolis 2013.

    Examples
    --------
    >>> siopen_category(3), siopen_category(4), siopen_category(4, cutoff=4)
    ('<=3', '>3', '<=4')
    """
    return category_text(total, _cutoff("siopen") if cutoff is None else cutoff)


def curie_category(total: int, cutoff: int | None = None) -> str:
    """``"<=2"`` or ``">2"``: the Curie table's cut-off (Yanik 2013).

    Examples
    --------
    >>> curie_category(2), curie_category(3)
    ('<=2', '>2')
    """
    return category_text(total, _cutoff("curie") if cutoff is None else cutoff)


def _cutoff(name: str) -> int:
    cutoff = load_scheme(name).category_cutoff
    if cutoff is None:  # the bundled tables always give one
        raise ValueError(f"the bundled {name} table gives no category_cutoff")
    return cutoff


def response(baseline_total: int, follow_up_total: int) -> str:
    """Skeletal response between two SIOPEN (or Curie) totals.

    Returns ``"complete"`` (follow-up 0), ``"partial"`` (reduction of at least 50 %),
    ``"stable"`` or ``"progression"`` (any increase), or ``"none at baseline"``.
    """
    if baseline_total == 0:
        return "none at baseline" if follow_up_total == 0 else "progression"
    if follow_up_total == 0:
        return "complete"
    if follow_up_total > baseline_total:
        return "progression"
    if follow_up_total <= 0.5 * baseline_total:
        return "partial"
    return "stable"
