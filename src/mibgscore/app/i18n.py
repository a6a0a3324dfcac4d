"""The interface's words in English and French (a dict per language; English is the fallback)."""

from __future__ import annotations

from mibgscore.anatomy.scheme import BUNDLED, load_scheme

LANGUAGES = {"en": "English", "fr": "Français"}

EN: dict[str, str] = {
    "app_title": "mibgscore reading",
    "research_use": "Research use only: not a medical device; a physician must check every score.",
    "login": "Log in", "logout": "Log out", "username": "User name", "password": "Password",
    "login_failed": "Wrong user name or password.",
    "login_blocked": "Too many failed logins; try again in {seconds} s.",
    "worklist": "Worklist", "users": "Users", "language": "Language",
    "patient": "Patient", "patient_id": "Patient ID", "age": "Age", "sex": "Sex",
    "study_date": "Study date", "description": "Description", "status": "Status",
    "auto_total": "Automatic SIOPEN", "final_total": "Final SIOPEN", "reader": "Reader",
    "search": "Search patient, ID, date…", "all_statuses": "All statuses",
    "import": "Import DICOM", "import_hint": "DICOM files, a folder or a zip",
    "import_folder": "Folder", "importing": "Importing…", "imported": "{n} study(ies) imported",
    "duplicates": "{n} already present", "open": "Open", "export_csv": "Export CSV",
    "no_studies": "No studies yet: import DICOM files.",
    "status_new": "new", "status_scoring": "scoring", "status_scored": "scored",
    "status_in_review": "in review", "status_signed": "signed", "status_amending": "amending",
    "status_amended": "amended", "status_failed": "failed", "queued": "queued",
    "anterior": "Anterior", "posterior": "Posterior", "geomean": "Geometric mean",
    "window": "Window", "lower": "Lower %", "upper": "Upper %", "linked": "Linked",
    "apply_to": "Apply to", "both": "both", "segments": "Segments", "lesions": "Lesions",
    "zoom_in": "Zoom in", "zoom_out": "Zoom out", "reset_view": "Reset",
    "invert": "Inverted grey", "counts": "counts",
    "segment": "Segment", "auto": "Auto", "final": "Reader", "total": "Total",
    "siopen_score": "SIOPEN score", "curie_score": "Curie score", "impression": "Impression",
    "accept_all": "Accept all automatic grades", "sign": "Sign", "amend": "Amend",
    "amend_reason": "Reason for the amendment", "history": "History",
    "saved": "Saved", "saving": "Saving…", "locked": "Signed and locked",
    "signed_by": "Signed by {who} at {when}", "followup": "Follow-up comparison",
    "export_pdf": "PDF report", "export_sr": "DICOM SR", "export_epdf": "Encapsulated PDF",
    "keys_help": "Keys: ↑/↓ segment · C next segment to check · 0–{max_grade} grade (0 rejects "
                 "its lesions) · Enter accept auto · A accept all · Ctrl+Enter sign · "
                 "F add focus · D paint diffuse · Esc done · S segments · L lesions · "
                 "U normal uptake · G geometric mean · W window presets · +/− zoom · "
                 "I impression · N next study",
    "lesions_in": "Lesions in {segment}", "no_lesions": "No lesion detected here.",
    "focal": "focal", "diffuse": "diffuse", "confidence": "confidence",
    "prior": "Prior", "current": "Current", "change": "Change", "response": "Response",
    "response_complete": "complete response", "response_partial": "partial response (≥ 50 % "
    "reduction)", "response_stable": "stable (< 50 % reduction)",
    "response_progression": "progression", "response_none at baseline": "no disease at baseline",
    "not_signed_note": "(automatic or draft score: not signed)", "days": "days",
    "edited": "edited", "automatic": "automatic", "confirm_sign": "Sign this reading? It "
    "will be locked.", "no_prior": "No earlier study of this patient.",
    "back": "Back to worklist", "add_user": "Add user", "role": "Role", "create": "Create",
    "delete": "Delete", "confirm_delete": "Delete this study and its history?",
    "scoring_progress": "Scoring…", "assumptions": "Assumptions",
    "grade_0": "0: no abnormal uptake", "grade_1": "1: one discrete lesion",
    "grade_2": "2: two discrete lesions", "grade_3": "3: three discrete lesions",
    "grade_4": "4: more than three discrete lesions, or one diffuse lesion < 50 % of the bone",
    "grade_5": "5: diffuse involvement of 50–95 % of the bone",
    "grade_6": "6: diffuse involvement of the whole bone",
    "curie_0": "0: none", "curie_1": "1: one site", "curie_2": "2: more than one site",
    "curie_3": "3: diffuse involvement of > 50 % of the segment",
    "error": "Error", "reload": "Reload", "view": "View",
    "findings": "Other findings (not scored)",
    "next_study": "Next study", "no_next": "No other study waits for reading.",
    "right_marker": "R", "left_marker": "L", "row": "row", "col": "col",
    "check": "check", "check_title": "Confidence of this grade is low: look again.",
    "confidence_short": "Conf. %",
    "confidence_title": "Confidence that the automatic grade is right (0-100 %, calibrated on "
                        "simulated scans); under the check threshold the segment is flagged.",
    "overridden": "overridden", "overridden_title": "Grade set directly by the reader, not "
    "computed from the lesion list.", "overridden_via": "Set through the SIOPEN override of "
    "{segment} (same bones).",
    "reason_physiological": "physiological", "reason_artefact": "artefact",
    "reason_injection_site": "injection site", "reason_not_abnormal": "segment graded 0",
    "reason_added_in_error": "added in error", "reject_as": "Reject: {reason}",
    "reject_label": "Reject as:",
    "restore": "Restore", "remove": "Remove", "rejected": "rejected",
    "added_by_reader": "added by the reader", "lesion_added": "Lesion added",
    "lesion_rejected": "Lesion rejected", "lesion_restored": "Lesion restored",
    "choose_segment": "Choose a segment (↓ or click a bone) to see its lesions.",
    "hint_inspect": "Click a lesion to reject it; click a bone to choose its segment.",
    "hint_focus": "Click on the image where the missed focus is (Esc: done).",
    "hint_paint": "Paint the diffuse region with the mouse (Esc: done).",
    "add_focus": "Add focus", "paint_diffuse": "Paint diffuse",
    "window_title": "Window: lower and upper threshold, % of the maximum count (W: presets)",
    "normal_uptake": "Normal uptake", "legend": "Legend",
    "legend_focal": "focal lesion (number)", "legend_low": "focal lesion, confidence < {below} %",
    "legend_diffuse": "diffuse involvement (its region)", "legend_added": "added by the reader",
    "legend_rejected": "rejected by the reader", "legend_finding": "normal uptake (not scored)",
    "legend_check": "segment to check (confidence < {below} %)",
    "legend_selected": "selected segment (outline)",
    "sign_summary": "SIOPEN {siopen} · Curie {curie}", "cancel": "Cancel",
    "nothing_to_check": "No segment is flagged for checking.",
    "finding_liver": "liver", "finding_spleen": "spleen", "finding_heart": "heart",
    "finding_bladder": "bladder", "finding_urine": "urine",
    "finding_salivary_glands": "salivary gland", "finding_nasopharynx": "nasopharynx",
    "finding_lacrimal_glands": "lacrimal gland", "finding_thyroid": "thyroid",
    "finding_brown_fat": "brown fat", "finding_bowel": "bowel", "finding_kidneys": "kidney",
    "finding_kidney": "kidney", "finding_lungs": "lung", "finding_adrenal": "adrenal",
    "finding_injection_site": "injection site", "finding_soft_tissue_tumour":
    "soft-tissue tumour", "finding_not_bone": "not bone (set aside)",
    "todo": "To do", "todo_read": "to read", "todo_sign": "to sign",
    "todo_sign_amendment": "finish amendment", "todo_wait": "scoring…",
    "todo_failed": "failed", "auto_short": "auto", "prior_short": "Prior",
    "pairing": "Lesions, prior → current", "persisting": "persisting", "resolved": "resolved",
    "new": "new", "paired_total": "All segments",
    "lesion_tracking": "Lesion tracking",
    "lesion_edits": "Export lesion edits (CSV)", "lesion_edits_title": "Every lesion and the "
    "reader's decision (kept, rejected with its reason, added): the centre's training set.",
}

FR: dict[str, str] = {
    "app_title": "Lecture mibgscore",
    "research_use": "Usage de recherche uniquement : pas un dispositif médical ; un médecin doit "
                    "vérifier chaque score.",
    "login": "Se connecter", "logout": "Se déconnecter", "username": "Identifiant",
    "password": "Mot de passe", "login_failed": "Identifiant ou mot de passe incorrect.",
    "login_blocked": "Trop d'échecs de connexion ; réessayez dans {seconds} s.",
    "worklist": "Liste de travail", "users": "Utilisateurs", "language": "Langue",
    "patient": "Patient", "patient_id": "ID patient", "age": "Âge", "sex": "Sexe",
    "study_date": "Date de l'examen", "description": "Description", "status": "Statut",
    "auto_total": "SIOPEN automatique", "final_total": "SIOPEN final", "reader": "Lecteur",
    "search": "Rechercher patient, ID, date…", "all_statuses": "Tous les statuts",
    "import": "Importer DICOM", "import_hint": "Fichiers DICOM, un dossier ou un zip",
    "import_folder": "Dossier", "importing": "Import en cours…",
    "imported": "{n} examen(s) importé(s)", "duplicates": "{n} déjà présent(s)",
    "open": "Ouvrir", "export_csv": "Exporter CSV",
    "no_studies": "Aucun examen : importez des fichiers DICOM.",
    "status_new": "nouveau", "status_scoring": "calcul", "status_scored": "calculé",
    "status_in_review": "en lecture", "status_signed": "signé", "status_amending": "en révision",
    "status_amended": "révisé", "status_failed": "échec", "queued": "en attente",
    "anterior": "Antérieure", "posterior": "Postérieure", "geomean": "Moyenne géométrique",
    "window": "Fenêtre", "lower": "Bas %", "upper": "Haut %", "linked": "Liées",
    "apply_to": "Appliquer à", "both": "les deux", "segments": "Segments", "lesions": "Lésions",
    "zoom_in": "Zoom +", "zoom_out": "Zoom −", "reset_view": "Réinitialiser",
    "invert": "Gris inversé", "counts": "coups",
    "segment": "Segment", "auto": "Auto", "final": "Lecteur", "total": "Total",
    "siopen_score": "Score SIOPEN", "curie_score": "Score de Curie", "impression": "Conclusion",
    "accept_all": "Accepter tous les grades automatiques", "sign": "Signer",
    "amend": "Réviser", "amend_reason": "Motif de la révision", "history": "Historique",
    "saved": "Enregistré", "saving": "Enregistrement…", "locked": "Signé et verrouillé",
    "signed_by": "Signé par {who} le {when}", "followup": "Comparaison de suivi",
    "export_pdf": "Compte rendu PDF", "export_sr": "DICOM SR", "export_epdf": "PDF encapsulé",
    "keys_help": "Touches : ↑/↓ segment · C segment suivant à vérifier · 0–{max_grade} grade "
                 "(0 rejette ses lésions) · Entrée accepter le grade auto · A tout accepter · "
                 "Ctrl+Entrée signer · F ajouter un foyer · D peindre diffus · Échap terminer · "
                 "S segments · L lésions · U fixations normales · G moyenne géométrique · "
                 "W préréglages de fenêtre · +/− zoom · I conclusion · N examen suivant",
    "lesions_in": "Lésions : {segment}", "no_lesions": "Aucune lésion détectée ici.",
    "focal": "focale", "diffuse": "diffuse", "confidence": "confiance",
    "prior": "Examen précédent", "current": "Examen actuel", "change": "Variation",
    "response": "Réponse",
    "response_complete": "réponse complète",
    "response_partial": "réponse partielle (réduction ≥ 50 %)",
    "response_stable": "stable (réduction < 50 %)", "response_progression": "progression",
    "response_none at baseline": "pas d'atteinte initiale",
    "not_signed_note": "(score automatique ou brouillon : non signé)", "days": "jours",
    "edited": "modifié", "automatic": "automatique",
    "confirm_sign": "Signer cette lecture ? Elle sera verrouillée.",
    "no_prior": "Aucun examen précédent de ce patient.", "back": "Retour à la liste",
    "add_user": "Ajouter un utilisateur", "role": "Rôle", "create": "Créer",
    "delete": "Supprimer", "confirm_delete": "Supprimer cet examen et son historique ?",
    "scoring_progress": "Calcul…", "assumptions": "Hypothèses",
    "grade_0": "0 : pas de fixation anormale", "grade_1": "1 : une lésion focale",
    "grade_2": "2 : deux lésions focales", "grade_3": "3 : trois lésions focales",
    "grade_4": "4 : plus de trois lésions focales, ou une lésion diffuse < 50 % de l'os",
    "grade_5": "5 : atteinte diffuse de 50 à 95 % de l'os",
    "grade_6": "6 : atteinte diffuse de tout l'os",
    "curie_0": "0 : aucune", "curie_1": "1 : un site", "curie_2": "2 : plus d'un site",
    "curie_3": "3 : atteinte diffuse de plus de 50 % du segment",
    "error": "Erreur", "reload": "Recharger", "view": "Vue",
    "findings": "Autres fixations (non cotées)",
    "next_study": "Examen suivant", "no_next": "Aucun autre examen à lire.",
    "right_marker": "D", "left_marker": "G", "row": "ligne", "col": "colonne",
    "check": "à vérifier", "check_title": "Confiance faible dans ce grade : regardez à nouveau.",
    "confidence_short": "Conf. %",
    "confidence_title": "Confiance dans le grade automatique (0-100 %, calibrée sur des "
                        "examens simulés) ; sous le seuil, le segment est signalé.",
    "overridden": "imposé", "overridden_title": "Grade saisi directement par le lecteur, non "
    "calculé à partir des lésions.", "overridden_via": "Imposé par le grade SIOPEN de "
    "{segment} (mêmes os).",
    "reason_physiological": "physiologique", "reason_artefact": "artefact",
    "reason_injection_site": "point d'injection", "reason_not_abnormal": "segment coté 0",
    "reason_added_in_error": "ajoutée par erreur", "reject_as": "Rejeter : {reason}",
    "reject_label": "Rejeter comme :",
    "restore": "Rétablir", "remove": "Retirer", "rejected": "rejetée",
    "added_by_reader": "ajoutée par le lecteur", "lesion_added": "Lésion ajoutée",
    "lesion_rejected": "Lésion rejetée", "lesion_restored": "Lésion rétablie",
    "choose_segment": "Choisissez un segment (↓ ou clic sur un os) pour voir ses lésions.",
    "hint_inspect": "Cliquez une lésion pour la rejeter ; un os pour choisir son segment.",
    "hint_focus": "Cliquez sur l'image là où est le foyer manqué (Échap : terminer).",
    "hint_paint": "Peignez la zone diffuse à la souris (Échap : terminer).",
    "add_focus": "Ajouter un foyer", "paint_diffuse": "Peindre diffus",
    "window_title": "Fenêtre : seuils bas et haut, en % du maximum (W : préréglages)",
    "normal_uptake": "Fixations normales", "legend": "Légende",
    "legend_focal": "lésion focale (numéro)", "legend_low": "lésion focale, confiance < {below} %",
    "legend_diffuse": "atteinte diffuse (sa zone)", "legend_added": "ajoutée par le lecteur",
    "legend_rejected": "rejetée par le lecteur", "legend_finding": "fixation normale (non cotée)",
    "legend_check": "segment à vérifier (confiance < {below} %)",
    "legend_selected": "segment choisi (contour)",
    "sign_summary": "SIOPEN {siopen} · Curie {curie}", "cancel": "Annuler",
    "nothing_to_check": "Aucun segment n'est signalé à vérifier.",
    "finding_liver": "foie", "finding_spleen": "rate", "finding_heart": "cœur",
    "finding_bladder": "vessie", "finding_urine": "urine",
    "finding_salivary_glands": "glande salivaire", "finding_nasopharynx": "nasopharynx",
    "finding_lacrimal_glands": "glande lacrymale", "finding_thyroid": "thyroïde",
    "finding_brown_fat": "graisse brune", "finding_bowel": "intestin", "finding_kidneys": "rein",
    "finding_kidney": "rein", "finding_lungs": "poumon", "finding_adrenal": "surrénale",
    "finding_injection_site": "point d'injection", "finding_soft_tissue_tumour":
    "tumeur des tissus mous", "finding_not_bone": "hors os (écarté)",
    "todo": "À faire", "todo_read": "à lire", "todo_sign": "à signer",
    "todo_sign_amendment": "révision à signer", "todo_wait": "calcul…",
    "todo_failed": "échec", "auto_short": "auto", "prior_short": "Précédent",
    "pairing": "Lésions, précédent → actuel", "persisting": "persistante", "resolved": "disparue",
    "new": "nouvelle", "paired_total": "Tous les segments",
    "lesion_tracking": "Suivi des lésions",
    "lesion_edits": "Exporter les corrections de lésions (CSV)", "lesion_edits_title": "Chaque "
    "lésion et la décision du lecteur (gardée, rejetée avec son motif, ajoutée) : la base "
    "d'apprentissage du centre.",
}

SEGMENT_FR: dict[str, str] = {
    seg.key: seg.name_fr for name in BUNDLED for seg in load_scheme(name).segments}
"""French segment names by key, from the bundled tables (``anatomy/schemes/*.toml``)."""

CATALOGUES = {"en": EN, "fr": FR}


def translator(language: str):
    """A function ``t(key, **values)`` in ``language`` (English where a word is missing)."""
    cat = CATALOGUES.get(language, EN)

    def t(key: str, **values) -> str:
        text = cat.get(key) or EN.get(key) or key
        return text.format(**values) if values else text

    return t


def segment_name(key: str, english: str, language: str) -> str:
    """A segment's name in ``language`` (the scheme's own name in English).

    The French names come from the segment tables; prefer :meth:`Segment.name_in
    <mibgscore.anatomy.scheme.Segment.name_in>` where the segment itself is at hand.
    """
    if language == "fr":
        return SEGMENT_FR.get(key, english)
    return english
