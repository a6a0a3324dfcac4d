"""The bone vocabulary shared by the fitted skeleton, the simulator and the segment schemes.

A bone map is a label image: 0 background, ``BONE_LABEL[name]`` for each bone. Overlapping
bones in a planar projection take the label of the bone listed in ``DRAW_ORDER`` last (the one
drawn on top). Long bones also carry a position map: 0 at the proximal end, 1 at the distal end.
"""

from __future__ import annotations

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
