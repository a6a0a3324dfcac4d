"""The bone vocabulary shared by the fitted skeleton, the simulator and the segment schemes.

A bone map is a label image: 0 background, ``BONE_LABEL[name]`` for each bone. Overlapping
bones in a planar projection take the label of the bone listed in ``DRAW_ORDER`` last (the one
drawn on top). Long bones also carry a position map: 0 at the proximal end, 1 at the distal end.
"""

from __future__ import annotations

import math

BONES: tuple[str, ...] = (
    "cranium",
    "facial_bones",
    "mandible",
    "cervical_spine",
    "thoracic_spine",
    "lumbar_spine",
    "sacrum",
    "sternum",
    "ribs_right",
    "ribs_left",
    "clavicle_right",
    "clavicle_left",
    "scapula_right",
    "scapula_left",
    "hip_bone_right",
    "hip_bone_left",
    "humerus_right",
    "humerus_left",
    "forearm_right",
    "forearm_left",
    "hand_right",
    "hand_left",
    "femur_right",
    "femur_left",
    "tibia_fibula_right",
    "tibia_fibula_left",
    "foot_right",
    "foot_left",
)
"""Every bone, patient's right/left. Label = index + 1."""

BONE_LABEL: dict[str, int] = {name: i + 1 for i, name in enumerate(BONES)}

LONG_BONES: frozenset[str] = frozenset(
    {
        "humerus_right",
        "humerus_left",
        "forearm_right",
        "forearm_left",
        "femur_right",
        "femur_left",
        "tibia_fibula_right",
        "tibia_fibula_left",
    }
)
"""Bones whose position map (0 proximal, 1 distal) splits them between segments."""

DRAW_ORDER: tuple[str, ...] = (
    "scapula_right",
    "scapula_left",
    "ribs_right",
    "ribs_left",
    "clavicle_right",
    "clavicle_left",
    "hip_bone_right",
    "hip_bone_left",
    "sacrum",
    "cervical_spine",
    "thoracic_spine",
    "lumbar_spine",
    "sternum",
    "cranium",
    "facial_bones",
    "mandible",
    "humerus_right",
    "humerus_left",
    "forearm_right",
    "forearm_left",
    "hand_right",
    "hand_left",
    "femur_right",
    "femur_left",
    "tibia_fibula_right",
    "tibia_fibula_left",
    "foot_right",
    "foot_left",
)
"""Painting order for a planar bone map: later bones cover earlier ones where they overlap."""

assert sorted(DRAW_ORDER) == sorted(BONES)

INJECTION_SITE_BONES: frozenset[str] = frozenset(
    {
        "forearm_right",
        "forearm_left",
        "hand_right",
        "hand_left",
        "tibia_fibula_right",
        "tibia_fibula_left",
        "foot_right",
        "foot_left",
        "humerus_right",
        "humerus_left",
    }
)
"""Bones beside which tracer is injected (hand, wrist, forearm, elbow, ankle, foot)."""

INJECTION_SITE_HUMERUS_FROM = 0.75
"""On the humerus only the elbow end (position from this to 1) lies by an injection site."""


def near_injection_site(bone: str, position: float | None = None) -> bool:
    """True when a point of ``bone`` at ``position`` (0 proximal - 1 distal) lies where an
    injection site may be: forearm, hand, lower leg, foot, or the elbow end of the humerus.

    Examples
    --------
    >>> near_injection_site("hand_left"), near_injection_site("femur_left")
    (True, False)
    >>> near_injection_site("humerus_right", 0.2), near_injection_site("humerus_right", 0.9)
    (False, True)
    """
    if bone not in INJECTION_SITE_BONES:
        return False
    if bone.startswith("humerus"):
        return position is None or math.isnan(position) or (
            position >= INJECTION_SITE_HUMERUS_FROM)
    return True
