import numpy as np
import pytest

from mibgscore.anatomy.bones import BONE_LABEL, BONES
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, load_scheme
from mibgscore.errors import SchemeError


def test_bundled_schemes_have_the_contract_keys():
    assert load_scheme("siopen").keys == SIOPEN_KEYS
    assert load_scheme("curie").keys == CURIE_KEYS
    assert load_scheme("curie").skeletal_keys == CURIE_KEYS[:-1]


@pytest.mark.parametrize(("bone", "pos", "siopen", "curie"), [
    ("humerus_right", 0.2, "right_upper_limb_proximal", "upper_arms"),
    ("humerus_right", 0.7, "right_upper_limb_distal", "upper_arms"),
    ("forearm_left", 0.5, "left_upper_limb_distal", "forearms_hands"),
    ("femur_left", 0.49, "left_lower_limb_proximal", "thighs"),
    ("femur_left", 0.5, "left_lower_limb_distal", "thighs"),
    ("femur_left", 1.0, "left_lower_limb_distal", "thighs"),
    ("sacrum", 0.5, "pelvis", "lumbar_sacral_spine"),
    ("lumbar_spine", 0.5, "spine", "lumbar_sacral_spine"),
    ("clavicle_right", 0.5, "thoracic_cage", "ribs_sternum"),
    ("mandible", 0.5, "skull", "head"),
])
def test_segment_of_bone(bone, pos, siopen, curie):
    assert load_scheme("siopen").segment_of(bone, pos) == siopen
    assert load_scheme("curie").segment_of(bone, pos) == curie


def test_segment_map_splits_the_femur_at_mid_shaft():
    labels = np.full((10, 1), BONE_LABEL["femur_right"], dtype=np.int16)
    pos = np.linspace(0, 1, 10, dtype=np.float32)[:, None]
    seg = load_scheme("siopen").segment_map(labels, pos)
    keys = load_scheme("siopen").keys
    assert [keys[i - 1] for i in seg[:, 0]] == (["right_lower_limb_proximal"] * 5
                                                + ["right_lower_limb_distal"] * 5)


def test_every_bone_maps_in_both_schemes():
    for name in ("siopen", "curie"):
        s = load_scheme(name)
        assert all(s.segment_of(b, 0.3) for b in BONES)


def test_a_centre_can_move_the_sacrum_to_the_spine(tmp_path):
    text = (load_scheme.__globals__["resources"].files("mibgscore.anatomy.schemes")
            .joinpath("siopen.toml").read_text())
    text = text.replace('bones = ["cervical_spine", "thoracic_spine", "lumbar_spine"]',
                        'bones = ["cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum"]')
    text = text.replace('bones = ["hip_bone_right", "hip_bone_left", "sacrum"]',
                        'bones = ["hip_bone_right", "hip_bone_left"]')
    path = tmp_path / "centre.toml"
    path.write_text(text)
    assert load_scheme(path).segment_of("sacrum") == "spine"


def test_a_bone_assigned_twice_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    text = (load_scheme.__globals__["resources"].files("mibgscore.anatomy.schemes")
            .joinpath("siopen.toml").read_text())
    old = '"forearm_right", "hand_right"'
    path.write_text(text.replace(old, old + ', "sacrum"'))
    with pytest.raises(SchemeError, match="sacrum is assigned twice"):
        load_scheme(path)


def test_an_unknown_bone_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[segment]]\nkey = "x"\nbones = ["tibia"]\n')
    with pytest.raises(SchemeError, match="unknown bone 'tibia'"):
        load_scheme(path)
