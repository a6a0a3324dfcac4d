"""A flat synthetic patient: a drawn bone map, a body of uniform soft tissue, Poisson counts."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.types import Body, Skeleton
from mibgscore.uptake.images import chord_profile

SHAPE = (560, 160)
SPACING = (3.0, 3.0)

# (bone, row0, row1, col0, col1): rectangles in the canonical frame (patient's right = low cols)
BONE_BOXES = [
    ("cervical_spine", 85, 115, 76, 84),
    ("thoracic_spine", 115, 215, 75, 85),
    ("lumbar_spine", 215, 270, 74, 86),
    ("ribs_right", 115, 215, 45, 75),
    ("ribs_left", 115, 215, 85, 115),
    ("clavicle_right", 110, 116, 50, 78),
    ("clavicle_left", 110, 116, 82, 110),
    ("sternum", 125, 170, 78, 82),
    ("hip_bone_right", 270, 320, 45, 74),
    ("hip_bone_left", 270, 320, 86, 115),
    ("sacrum", 270, 305, 74, 86),
    ("humerus_right", 120, 230, 25, 33),
    ("humerus_left", 120, 230, 127, 135),
    ("forearm_right", 232, 320, 24, 34),
    ("forearm_left", 232, 320, 126, 136),
    ("hand_right", 322, 345, 22, 36),
    ("hand_left", 322, 345, 124, 138),
    ("femur_right", 320, 440, 55, 65),
    ("femur_left", 320, 440, 95, 105),
    ("tibia_fibula_right", 445, 530, 56, 66),
    ("tibia_fibula_left", 445, 530, 94, 104),
    ("foot_right", 532, 548, 52, 70),
    ("foot_left", 532, 548, 90, 108),
    ("mandible", 70, 85, 66, 94),
]


def bone_map() -> tuple[np.ndarray, np.ndarray]:
    """Bone labels (int16) and position along long bones (float32, NaN elsewhere)."""
    labels = np.zeros(SHAPE, np.int16)
    position = np.full(SHAPE, np.nan, np.float32)
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]]
    skull = ((rr - 45) / 35.0) ** 2 + ((cc - 80) / 28.0) ** 2 <= 1
    labels[skull & (rr < 62)] = BONE_LABEL["cranium"]
    labels[skull & (rr >= 62)] = BONE_LABEL["facial_bones"]
    for name, r0, r1, c0, c1 in BONE_BOXES:
        labels[r0:r1, c0:c1] = BONE_LABEL[name]
        if name.split("_")[0] in ("humerus", "forearm", "femur", "tibia"):
            position[r0:r1, c0:c1] = ((np.arange(r0, r1) - r0) / (r1 - r0 - 1))[:, None]
    return labels, position


def body_mask() -> np.ndarray:
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]]
    m = ((rr - 45) / 38.0) ** 2 + ((cc - 80) / 31.0) ** 2 <= 1
    m |= (rr >= 80) & (rr < 115) & (cc >= 64) & (cc < 96)
    m |= (rr >= 108) & (rr < 330) & (cc >= 38) & (cc < 122)
    m |= (rr >= 112) & (rr < 350) & (((cc >= 18) & (cc < 40)) | ((cc >= 120) & (cc < 142)))
    m |= (rr >= 320) & (rr < 552) & (((cc >= 45) & (cc < 78)) | ((cc >= 82) & (cc < 115)))
    return m


def blob(row: float, col: float, sigma: float) -> np.ndarray:
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]]
    return np.exp(-((rr - row) ** 2 + (cc - col) ** 2) / (2 * sigma ** 2))


def make_phantom(extra: np.ndarray | None = None, level: float = 15.0, seed: int = 0,
                 single_view: bool = False) -> tuple[Body, Skeleton]:
    """(Body, Skeleton) of the flat patient.

    Soft tissue follows the body's thickness (:func:`chord_profile`) at ``level`` counts per
    pixel per view; ``extra`` is an image of expected counts added to it (lesions, organs),
    in multiples of ``level``.
    """
    rng = np.random.default_rng(seed)
    mask = body_mask()
    # soft tissue follows the body's thickness (elliptic cross-sections, attenuated), blurred
    # by the camera
    thickness, _ = chord_profile(mask, SPACING[1])
    expected = level * thickness.astype(np.float64)
    if extra is not None:
        expected = expected + level * extra * mask
    expected = ndi.gaussian_filter(expected, 1.2) + 0.3 * level / 15.0
    ant = rng.poisson(expected).astype(np.float32)
    post = None if single_view else rng.poisson(expected).astype(np.float32)
    labels, position = bone_map()
    body = Body(anterior=ant, posterior=post, flipped_rows=False,
                posterior_shift=(0.0, 0.0), mask=mask, spacing_mm=SPACING)
    skeleton = Skeleton(bone_labels=labels, bone_position=position, confidence=1.0)
    return body, skeleton
