"""A "centre" the shipped scorer does not fit, for the adaptation tests and docs/adapt.md.

Studies of the project's simulator with a systematic difference: another camera (``CAMERAS``),
brighter bowel, and physicians who split the limbs at the elbow and the knee (the whole humerus
and femur are "proximal") and call a bone
"whole" from 85 % of it involved. The centre's readings are the simulated truth graded by these
habits (no random reader error: the difference is systematic).

    .venv/bin/python benchmarks/centre.py OUTDIR --n 110 --seed 71000000 [--camera NAME]
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from mibgscore.adapt.fit import split_scheme
from mibgscore.anatomy.scheme import SIOPEN_KEYS, SegmentScheme, load_scheme
from mibgscore.grading.rules import MIN_DIFFUSE_FRACTION, grade_siopen_segment
from mibgscore.simulate import SimulationParams
from mibgscore.simulate.study import child_seed, simulate_study
from mibgscore.simulate.types import Truth

CAMERAS = {
    "medium-energy": SimulationParams(lehr_probability=0.0, counts_per_view=(1.0e6, 4.0e6),
                                      bowel_scale=2.5, category_weights=(0.25, 0.25, 0.3, 0.2)),
    "low-count-lehr": SimulationParams(lehr_probability=1.0, counts_per_view=(0.15e6, 1.2e6),
                                       bowel_scale=2.5, category_weights=(0.25, 0.25, 0.3, 0.2)),
    "simulator": SimulationParams(category_weights=(0.25, 0.25, 0.3, 0.2)),
}
"""The centres' studies, a quarter normal, bowel 2.5 times brighter than the simulator's:
``medium-energy``: every study with a medium-energy collimator (no septal penetration) and 1-4
M counts; ``low-count-lehr``: every study low-energy (septal penetration) with 0.15-1.2 M
counts, where foci are harder to see; ``simulator``: the simulator's own cameras (for the "no
harm" check)."""

CENTRE_WHOLE = 0.85
"""The centre's physicians call a bone "whole" from this share involved."""


@dataclass(frozen=True)
class CentreHabits:
    """How the centre's physicians grade."""

    humerus_split: float = 1.0
    femur_split: float = 1.0
    whole: float = CENTRE_WHOLE

    def scheme(self) -> SegmentScheme:
        text = resources.files("mibgscore.anatomy").joinpath("schemes", "siopen.toml"
                                                             ).read_text("utf-8")
        return split_scheme(load_scheme("siopen"), text, self.humerus_split,
                            self.femur_split)[0]


def centre_reading(truth: Truth, habits: CentreHabits = CentreHabits()) -> dict[str, int]:
    """The centre's SIOPEN grades of a simulated study (its truth graded by ``habits``)."""
    scheme = habits.scheme()
    smap = scheme.segment_map(truth.bone_labels, truth.bone_position)
    n = len(scheme.segments)
    foci = np.zeros(n, dtype=int)
    for les in truth.lesions:
        if les.kind != "focal":
            continue
        pos = float(truth.bone_position[les.row, les.col])
        key = scheme.segment_of(les.bone, 0.5 if pos != pos else pos)
        if key is not None:
            foci[scheme.keys.index(key)] += 1
    total = np.bincount(smap.ravel(), minlength=n + 1)[1:]
    mask = truth.diffuse_mask if truth.diffuse_mask is not None else np.zeros_like(smap, bool)
    hit = np.bincount(smap[mask & (smap > 0)].ravel(), minlength=n + 1)[1:]
    out = {}
    for i, key in enumerate(scheme.keys):
        f = float(hit[i] / total[i]) if total[i] else 0.0
        f = f if f >= MIN_DIFFUSE_FRACTION else 0.0
        out[key] = min(grade_siopen_segment(int(foci[i]), f, whole=habits.whole), 6)
    return out


def write_centre(outdir: str | Path, n: int, seed: int, *, reader: str = "centre",
                 habits: CentreHabits = CentreHabits(), patients: int | None = None,
                 camera: str = "medium-energy") -> Path:
    """Write ``n`` centre studies (``case_*.dcm``) and ``readings.csv`` into ``outdir``.

    With ``patients`` fewer than ``n``, studies are spread over that many children (the
    same Patient ID on several studies: follow-up scans), to exercise patient-grouped folds.
    Returns the readings file.
    """
    from mibgscore.io.write import write_nm

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        st = simulate_study(child_seed(seed, i), params=CAMERAS[camera])
        scan = st.scan
        if patients is not None and patients < n:
            from dataclasses import replace

            scan = replace(scan, patient=replace(scan.patient,
                                                 patient_id=f"CENTRE{i % patients:04d}"))
        path = out / f"case_{i:03d}.dcm"
        write_nm(scan, path)
        grades = centre_reading(st.truth, habits)
        date = scan.study.study_date
        rows.append({"patient_id": scan.patient.patient_id,
                     "study_date": date.isoformat() if date else "",
                     "study_uid": scan.study.study_uid, "reader": reader, **grades,
                     "siopen_total": sum(grades.values())})
    target = out / "readings.csv"
    with target.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["patient_id", "study_date", "study_uid", "reader",
                                           *SIOPEN_KEYS, "siopen_total"])
        w.writeheader()
        w.writerows(rows)
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--n", type=int, default=110)
    ap.add_argument("--seed", type=int, default=71_000_000)
    ap.add_argument("--patients", type=int, default=None)
    ap.add_argument("--camera", choices=sorted(CAMERAS), default="medium-energy")
    a = ap.parse_args()
    print(write_centre(a.outdir, a.n, a.seed, patients=a.patients, camera=a.camera))


if __name__ == "__main__":
    main()

__all__ = ["CAMERAS", "CentreHabits", "centre_reading", "write_centre"]
