"""Ground truth of a phantom: SIOPEN and Curie grades from the lesions actually drawn.

Grades come from the project's segment tables (``anatomy.scheme``) and grading rules
(``grading.rules``): these define the scores, they are not physics.
"""

from __future__ import annotations

import numpy as np

from mibgscore.anatomy.scheme import load_scheme
from mibgscore.grading.rules import grade_curie_segment, grade_siopen_segment

from .anatomy import Anatomy
from .physiology import Disease


def truth_of(an: Anatomy, dis: Disease) -> dict:
    """SIOPEN (12) and Curie (10) grades, totals and the lesion list.

    Diffuse fractions are shares of each segment's bone pixels in the drawn bone map.
    """
    out: dict = {}
    diffuse = dis.diffuse if dis.diffuse is not None else np.zeros(an.bone_labels.shape, bool)
    for name in ("siopen", "curie"):
        scheme = load_scheme(name)
        seg = scheme.segment_map(an.bone_labels, an.bone_position)
        grades, fracs = {}, {}
        for i, key in enumerate(scheme.keys):
            if scheme.segments[i].soft_tissue:
                grades[key] = grade_curie_segment(len(dis.soft_tissue_sites))
                continue
            m = seg == i + 1
            frac = float((diffuse & m).sum() / m.sum()) if m.any() else 0.0
            n = sum(1 for f in dis.focal if (f.siopen if name == "siopen" else f.curie) == key)
            fracs[key] = round(frac, 4)
            grades[key] = (grade_siopen_segment(n, frac) if name == "siopen"
                           else grade_curie_segment(n, frac))
        out[name] = grades
        out[f"{name}_total"] = int(sum(grades.values()))
        out[f"{name}_diffuse_fraction"] = fracs
    out["category"] = dis.category
    out["lesions"] = [
        {"kind": "focal", "row": f.row, "col": f.col, "diameter_mm": round(f.diameter_mm, 1),
         "bone": f.bone, "position": round(f.position, 3), "siopen": f.siopen,
         "curie": f.curie, "concentration": round(f.concentration, 3),
         "contrast": round(f.contrast, 2)} for f in dis.focal]
    out["soft_tissue"] = [{"site": s, "row": r, "col": c} for s, r, c in dis.soft_tissue_sites]
    return out
