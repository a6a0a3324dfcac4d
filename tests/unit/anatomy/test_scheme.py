import numpy as np
import pytest

from mibgscore.anatomy.bones import BONE_LABEL, BONES
from mibgscore.anatomy.scheme import (
    CURIE_KEYS,
    SIOPEN_KEYS,
    check_scheme_keys,
    load_scheme,
    load_schemes,
    resolve_scheme,
)
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


def test_the_json_contract_keys_do_not_drift():
    """The key lists come from the tables; the JSON/CSV contract pins them."""
    assert SIOPEN_KEYS == (
        "skull", "thoracic_cage", "spine", "pelvis",
        "right_upper_limb_proximal", "right_upper_limb_distal",
        "left_upper_limb_proximal", "left_upper_limb_distal",
        "right_lower_limb_proximal", "right_lower_limb_distal",
        "left_lower_limb_proximal", "left_lower_limb_distal")
    assert CURIE_KEYS == (
        "head", "cervical_thoracic_spine", "ribs_sternum", "lumbar_sacral_spine", "pelvis",
        "upper_arms", "forearms_hands", "thighs", "legs_feet", "soft_tissue")


def test_the_tables_carry_grades_names_aliases_and_sites():
    siopen, curie = load_scheme("siopen"), load_scheme("curie")
    assert (siopen.max_grade, siopen.category_cutoff, siopen.max_total) == (6, 3, 72)
    assert (curie.max_grade, curie.category_cutoff, curie.max_total) == (3, 2, 30)
    assert "Ladenstein" in siopen.category_reference and "Yanik" in curie.category_reference
    skull = siopen.segment("skull")
    assert (skull.name, skull.name_in("en"), skull.name_in("fr")) == ("Skull", "Skull", "Crâne")
    assert "cranium" in skull.aliases and skull.header_names[:3] == ("skull", "Skull", "Crâne")
    assert skull.site.location.value == "89546000" and skull.site.laterality is None
    arm = siopen.segment("left_upper_limb_distal").site
    assert (arm.location.value, arm.location.scheme, arm.location.meaning) == (
        "53120007", "SCT", "Upper limb")
    assert (arm.laterality.value, arm.modifier.value) == ("7771000", "46053002")
    assert all(seg.site is not None for seg in siopen.segments)
    assert all(seg.name_fr != seg.name for name in ("siopen", "curie")
               for seg in load_scheme(name).segments)


def _bundled_text(name: str) -> str:
    return (load_scheme.__globals__["resources"].files("mibgscore.anatomy.schemes")
            .joinpath(f"{name}.toml").read_text(encoding="utf-8"))


def _strip(text: str) -> str:
    """The table without its header, French names, aliases and finding sites."""
    keep, skip = [], False
    for line in text.splitlines():
        if line.startswith("[segment.site]") or line.startswith("[scheme]"):
            skip = True
            continue
        if line.startswith("[[segment]]"):
            skip = False
        if not skip and not line.startswith(("name_fr", "aliases")):
            keep.append(line)
    return "\n".join(keep)


@pytest.mark.parametrize("name", ["siopen", "curie"])
def test_a_centre_table_without_the_optional_fields_loads(tmp_path, name):
    path = tmp_path / "centre.toml"
    path.write_text(_strip(_bundled_text(name)), encoding="utf-8")
    centre, bundled = load_scheme(path), load_scheme(name)
    assert centre.keys == bundled.keys and centre.name == "centre"
    assert (centre.max_grade, centre.category_cutoff) == (bundled.max_grade,
                                                          bundled.category_cutoff)
    for seg in centre.segments:
        assert seg.name_fr == seg.name and seg.aliases == () and seg.site is None


def test_a_table_with_other_keys_gets_the_default_grade_scale(tmp_path):
    path = tmp_path / "other.toml"
    text = _strip(_bundled_text("siopen")).replace('key = "skull"', 'key = "head_and_face"')
    path.write_text(text, encoding="utf-8")
    scheme = load_scheme(path)
    assert scheme.keys[0] == "head_and_face"
    assert (scheme.max_grade, scheme.category_cutoff) == (6, None)


@pytest.mark.parametrize("change, match", [
    (('meaning = "Upper limb"\nlaterality = { code = "24028007", scheme = "SCT", '
      'meaning = "Right" }', 'meaning = "Upper limb"\nlaterality = { code = "24028007" }'),
     "laterality needs a code and a meaning"),
    (('aliases = ["pelvic"]', 'aliases = "pelvic"'), "aliases must be a list"),
    (('aliases = ["pelvic"]', 'aliases = ["spine"]'), "both called 'spine'"),
    (('name_fr = "Bassin"', 'name_fr = ""'), "name_fr must be a non-empty string"),
    (("max_grade = 6", 'max_grade = "six"'), "max_grade must be a whole number"),
])
def test_malformed_segment_facts_are_refused(tmp_path, change, match):
    old, new = change
    text = _bundled_text("siopen")
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SchemeError, match=match):
        load_scheme(path)


def test_french_segment_names_are_written_only_in_the_tables():
    """Web app, PDF, readings parser...: every French segment name comes from the TOML."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[3] / "src" / "mibgscore"
    tables = package / "anatomy" / "schemes"
    names = {seg.name_fr for name in ("siopen", "curie") for seg in load_scheme(name).segments}
    assert {"Crâne", "Cage thoracique", "Rachis", "Tête", "Tissus mous"} <= names

    def spellings(name: str) -> set[str]:
        escaped = "".join(c if ord(c) < 128 else f"\\u{ord(c):04x}" for c in name)
        return {name, escaped, escaped.replace("\\u00", "\\x")}

    hits = []
    for path in package.rglob("*"):
        if not path.is_file() or path.suffix not in (".py", ".html", ".js", ".toml", ".csv",
                                                     ".json", ".txt", ".md"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found = sorted(n for n in names if any(s in text for s in spellings(n)))
        if found:
            hits.append((str(path.relative_to(package)), found))
    assert hits and all(p.startswith(str(tables.relative_to(package))) for p, _ in hits), hits


def test_segments_files_are_sorted_into_the_siopen_and_the_curie_table(tmp_path):
    siopen, curie = tmp_path / "s.toml", tmp_path / "c.toml"
    siopen.write_text(_strip(_bundled_text("siopen")), encoding="utf-8")
    curie.write_text(_strip(_bundled_text("curie")), encoding="utf-8")
    assert load_schemes([]) == (None, None)
    s, c = load_schemes([curie, siopen])
    assert (s.name, c.name) == ("s", "c") and s.keys == SIOPEN_KEYS and c.keys == CURIE_KEYS
    assert load_schemes([str(curie)])[0] is None
    with pytest.raises(SchemeError, match="second CURIE table"):
        load_schemes([curie, curie])
    odd = tmp_path / "odd.toml"
    odd.write_text(_strip(_bundled_text("siopen")).replace('key = "skull"', 'key = "head"'),
                   encoding="utf-8")
    with pytest.raises(SchemeError, match="neither the SIOPEN keys nor the Curie keys") as err:
        load_schemes([siopen, odd])
    assert err.value.path == str(odd)


def test_a_table_must_define_its_schemes_contract_keys(tmp_path):
    siopen, curie = load_scheme("siopen"), load_scheme("curie")
    assert check_scheme_keys(siopen, "siopen") is siopen
    with pytest.raises(SchemeError, match="the CURIE segment table must define exactly the "
                       "keys head, cervical_thoracic_spine"):
        check_scheme_keys(siopen, "curie")
    with pytest.raises(ValueError, match="unknown scheme"):
        check_scheme_keys(siopen, "other")
    assert resolve_scheme(None, "curie") is curie and resolve_scheme("siopen", "siopen") is siopen
    path = tmp_path / "s.toml"
    path.write_text(_strip(_bundled_text("siopen")), encoding="utf-8")
    assert resolve_scheme(path, "siopen").name == "s"
    with pytest.raises(SchemeError, match="SIOPEN segment table must define") as err:
        resolve_scheme(curie, "siopen")
    assert err.value.path is None
    with pytest.raises(SchemeError, match="^s.toml: the CURIE segment table must define"):
        resolve_scheme(path, "curie")
