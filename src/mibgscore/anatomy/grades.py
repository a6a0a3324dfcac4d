"""One scan's grades over a segment scheme: checked, totalled and categorised in one place.

The scoring result, the reading report, the simulator's ground truth and the readings parser
all hold their grades through :class:`Grades`, so that a grade of 7, a missing segment or a
total that is not the sum of its segments cannot exist anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mibgscore.anatomy.scheme import SegmentScheme, load_scheme


def category_text(total: int, cutoff: int) -> str:
    """Which side of a clinical cut-off a total lies: ``"<=cutoff"`` or ``">cutoff"``.

    Examples
    --------
    >>> category_text(3, 3), category_text(4, 3)
    ('<=3', '>3')
    """
    return f"<={cutoff}" if total <= cutoff else f">{cutoff}"


@dataclass(frozen=True, eq=False)
class Grades(Mapping[str, int]):
    """The grade of every segment of a scheme, checked against it.

    A read-only mapping key -> grade in the scheme's report order. It compares equal to any
    mapping with the same items (a plain dict included).

    Parameters
    ----------
    scheme : SegmentScheme or str
        The scheme, or ``"siopen"`` / ``"curie"`` for a bundled one.
    grades : mapping of str to int
        One grade per segment key of the scheme, each a whole number from 0 to
        ``scheme.max_grade`` (numpy integers, integral floats and digit strings are taken as
        their integer).

    Raises
    ------
    ValueError
        A key of the scheme is missing or an unknown key is given; a grade is not a whole
        number or lies outside 0 to ``max_grade``.

    Examples
    --------
    >>> g = Grades("curie", {**Grades.zeros("curie"), "head": 2, "pelvis": 1})
    >>> g.total, g.category, g["head"]
    (3, '>2', 2)
    """

    scheme: SegmentScheme
    grades: Mapping[str, int]

    def __post_init__(self) -> None:
        scheme = load_scheme(self.scheme) if isinstance(self.scheme, str) else self.scheme
        object.__setattr__(self, "scheme", scheme)
        keys = scheme.keys
        given = set(self.grades)
        if given != set(keys):
            missing = [k for k in keys if k not in given]
            extra = sorted(str(k) for k in given - set(keys))
            raise ValueError(f"{scheme.name} grades: missing {missing}, unknown {extra}")
        checked = {k: _grade(scheme, k, self.grades[k]) for k in keys}
        object.__setattr__(self, "grades", MappingProxyType(checked))

    @classmethod
    def zeros(cls, scheme: SegmentScheme | str) -> Grades:
        """Grade 0 in every segment of ``scheme``."""
        scheme = load_scheme(scheme) if isinstance(scheme, str) else scheme
        return cls(scheme, dict.fromkeys(scheme.keys, 0))

    def __getitem__(self, key: str) -> int:
        return self.grades[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.grades)

    def __len__(self) -> int:
        return len(self.grades)

    def __repr__(self) -> str:
        return f"Grades({self.scheme.name!r}, {dict(self.grades)!r})"

    @property
    def total(self) -> int:
        """Sum of the grades, 0 to ``scheme.max_total`` (SIOPEN 0-72, Curie 0-30)."""
        return sum(self.grades.values())

    @property
    def category(self) -> str | None:
        """Clinical category of the total against the scheme's cut-off.

        SIOPEN ``"<=3"`` or ``">3"`` (Ladenstein et al. 2018), Curie ``"<=2"`` or ``">2"``
        (Yanik et al. 2013); None for a scheme without a cut-off.
        """
        cutoff = self.scheme.category_cutoff
        return None if cutoff is None else category_text(self.total, cutoff)

    def to_dict(self) -> dict[str, int]:
        """A plain ``{key: grade}`` dict in report order (the JSON contract's shape)."""
        return dict(self.grades)


def _grade(scheme: SegmentScheme, key: str, value: object) -> int:
    try:
        grade = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"{scheme.name} grade {value!r} for {key} is not a whole number"
                         ) from None
    if not isinstance(value, str) and grade != value:
        raise ValueError(f"{scheme.name} grade {value!r} for {key} is not a whole number")
    if not 0 <= grade <= scheme.max_grade:
        raise ValueError(f"{scheme.name} grade {grade} for {key} (0-{scheme.max_grade})")
    return grade


class Graded:
    """Mixin of a record with ``siopen`` and ``curie`` grade mappings (a result, a reading, a
    simulated truth): checked grades and totals, all through :class:`Grades`."""

    siopen: Mapping[str, int]
    curie: Mapping[str, int]

    @property
    def siopen_grades(self) -> Grades:
        """The SIOPEN grades as a checked :class:`Grades`."""
        return Grades("siopen", self.siopen)

    @property
    def curie_grades(self) -> Grades:
        """The Curie grades as a checked :class:`Grades`."""
        return Grades("curie", self.curie)

    @property
    def siopen_total(self) -> int:
        """SIOPEN total, 0 to the scheme's maximum (72)."""
        return self.siopen_grades.total

    @property
    def curie_total(self) -> int:
        """Curie total, 0 to the scheme's maximum (30)."""
        return self.curie_grades.total
