"""Words of the reading report in English and French.

Segment names are not here: they come from the segment tables (``Segment.name_in``). Labels
with ``{max_grade}``, ``{cutoff}`` or ``{ref}`` are filled from the table in use, so a cut-off
lives in one place (``category_cutoff`` of ``anatomy/schemes/*.toml``).
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "123I-MIBG whole-body scintigraphy: SIOPEN and Curie skeletal scores",
        "patient": "Patient", "patient_id": "Patient ID", "name": "Name",
        "birth_date": "Birth date", "sex": "Sex", "age": "Age", "years": "years",
        "study": "Study", "study_date": "Study date", "description": "Description",
        "accession": "Accession number", "study_uid": "Study UID", "institution": "Institution",
        "status": "Status", "draft": "DRAFT \u2014 not signed", "signed": "Signed",
        "amended": "Signed, amended",
        "summary": "Result", "siopen_total": "SIOPEN total", "curie_total": "Curie total",
        "response": "Response",
        "views": "Views with the reader's final SIOPEN grades",
        "views_note": "Each segment the reader graded above 0 is outlined in red with its final "
                      "SIOPEN grade; unmarked segments are graded 0. R and L: the patient's "
                      "right and left.",
        "views_ungraded": "The segment outlines of this study are not available: the views "
                          "are shown without grades.",
        "anterior": "Anterior view (seen from the front)",
        "posterior": "Posterior view (seen from behind)",
        "caption": "{view}, {date}",
        "prior_caption": "Prior study: {view}, {date}",
        "siopen_table": "SIOPEN skeletal score (segments graded 0-{max_grade})",
        "curie_table": "Curie score (segments graded 0-{max_grade})",
        "segment": "Segment", "final": "Final grade", "total": "Total",
        "changed_from": "changed by the reader from {before}",
        "segments_1": "1 segment", "segments_n": "{n} segments",
        "edited_yes": "The reader changed the automatic proposal in {segments}.",
        "edited_no": "The reader accepted the automatic proposal without change.",
        "draft_no_edit": "Not signed: these grades are the automatic proposal, not yet "
                         "confirmed by a reader.",
        "draft_edit": "Not signed: the reader has so far changed the automatic proposal in "
                      "{segments}; the grades are not confirmed until signed.",
        "no_automatic": "No automatic proposal: every grade is the reader's.",
        "comparison": "Comparison with the prior study",
        "prior": "Prior study", "current": "This study", "change": "Change",
        "impression": "Impression", "no_impression": "(none)",
        "reader": "Reader", "signed_at": "Signed", "not_signed": "not signed (draft)",
        "software": "Software", "automatic_score": "Automatic score",
        "amendments": "Amendment history",
        "grade_change": "{segment} ({scheme}) changed from {before} to {after}",
        "amendment": "{what} by {who}, {when}: reason: {reason}",
        "amendment_no_reason": "{what} by {who}, {when}",
        "no_grade_changed": "Amended without a grade change",
        "changed_impression": "impression changed",
        "and": "; ",
        "research": "Research use only \u2014 not a medical device",
        "page": "page",
        # Categories: the cut-off and the paper come from the segment table.
        "category_above_siopen": "SIOPEN > {cutoff}: unfavourable at diagnosis and after "
                                 "induction chemotherapy ({ref})",
        "category_below_siopen": "SIOPEN \u2264 {cutoff}: favourable at diagnosis and after "
                                 "induction chemotherapy ({ref})",
        "category_above_curie": "Curie > {cutoff}: unfavourable after induction chemotherapy "
                                "({ref})",
        "category_below_curie": "Curie \u2264 {cutoff}: favourable after induction "
                                "chemotherapy ({ref})",
        "category_above": "{scheme} > {cutoff}: above the cut-off ({ref})",
        "category_below": "{scheme} \u2264 {cutoff}: at or below the cut-off ({ref})",
        "complete": "complete response (no skeletal uptake left)",
        "partial": "partial response (total reduced by 50 % or more)",
        "stable": "stable (total reduced by less than 50 % or unchanged)",
        "progression": "progression (total increased)",
        "none at baseline": "no skeletal disease on either study",
    },
    "fr": {
        "title": "Scintigraphie corps entier \u00e0 la 123I-MIBG : scores squelettiques "
                 "SIOPEN et Curie",
        "patient": "Patient", "patient_id": "Identifiant patient", "name": "Nom",
        "birth_date": "Date de naissance", "sex": "Sexe", "age": "\u00c2ge", "years": "ans",
        "study": "Examen", "study_date": "Date de l'examen", "description": "Description",
        "accession": "Num\u00e9ro d'accession", "study_uid": "UID de l'examen",
        "institution": "\u00c9tablissement",
        "status": "Statut", "draft": "BROUILLON \u2014 non sign\u00e9",
        "signed": "Sign\u00e9", "amended": "Sign\u00e9, amend\u00e9",
        "summary": "R\u00e9sultat", "siopen_total": "Total SIOPEN", "curie_total": "Total Curie",
        "response": "R\u00e9ponse",
        "views": "Vues avec les grades SIOPEN d\u00e9finitifs du lecteur",
        "views_note": "Chaque segment cot\u00e9 au-dessus de 0 par le lecteur est entour\u00e9 "
                      "de rouge avec son grade SIOPEN d\u00e9finitif ; les segments sans "
                      "marque sont cot\u00e9s 0. R et L : droite et gauche du patient.",
        "views_ungraded": "Les contours des segments de cet examen ne sont pas disponibles : "
                          "les vues sont montr\u00e9es sans grades.",
        "anterior": "Vue ant\u00e9rieure (de face)",
        "posterior": "Vue post\u00e9rieure (de dos)",
        "caption": "{view}, {date}",
        "prior_caption": "Examen pr\u00e9c\u00e9dent : {view}, {date}",
        "siopen_table": "Score squelettique SIOPEN (segments cot\u00e9s de 0 \u00e0 {max_grade})",
        "curie_table": "Score de Curie (segments cot\u00e9s de 0 \u00e0 {max_grade})",
        "segment": "Segment", "final": "Grade d\u00e9finitif", "total": "Total",
        "changed_from": "modifi\u00e9 par le lecteur (\u00e9tait {before})",
        "segments_1": "1 segment", "segments_n": "{n} segments",
        "edited_yes": "Le lecteur a modifi\u00e9 la proposition automatique dans {segments}.",
        "edited_no": "Le lecteur a accept\u00e9 la proposition automatique sans modification.",
        "draft_no_edit": "Non sign\u00e9 : ces grades sont la proposition automatique, pas "
                         "encore confirm\u00e9e par un lecteur.",
        "draft_edit": "Non sign\u00e9 : le lecteur a pour l'instant modifi\u00e9 la "
                      "proposition automatique dans {segments} ; les grades ne sont "
                      "confirm\u00e9s qu'\u00e0 la signature.",
        "no_automatic": "Pas de proposition automatique : tous les grades sont ceux du "
                        "lecteur.",
        "comparison": "Comparaison avec l'examen pr\u00e9c\u00e9dent",
        "prior": "Examen pr\u00e9c\u00e9dent", "current": "Cet examen",
        "change": "\u00c9volution",
        "impression": "Conclusion", "no_impression": "(aucune)",
        "reader": "M\u00e9decin lecteur", "signed_at": "Sign\u00e9 le",
        "not_signed": "non sign\u00e9 (brouillon)",
        "software": "Logiciel", "automatic_score": "Score automatique",
        "amendments": "Historique des modifications",
        "grade_change": "{segment} ({scheme}) modifi\u00e9 de {before} \u00e0 {after}",
        "amendment": "{what} par {who}, {when} : motif : {reason}",
        "amendment_no_reason": "{what} par {who}, {when}",
        "no_grade_changed": "Amend\u00e9 sans changement de grade",
        "changed_impression": "conclusion modifi\u00e9e",
        "and": " ; ",
        "research": "Usage recherche uniquement \u2014 ce n'est pas un dispositif "
                    "m\u00e9dical",
        "page": "page",
        "category_above_siopen": "SIOPEN > {cutoff} : d\u00e9favorable au diagnostic et "
                                 "apr\u00e8s la chimioth\u00e9rapie d'induction ({ref})",
        "category_below_siopen": "SIOPEN \u2264 {cutoff} : favorable au diagnostic et "
                                 "apr\u00e8s la chimioth\u00e9rapie d'induction ({ref})",
        "category_above_curie": "Curie > {cutoff} : d\u00e9favorable apr\u00e8s la "
                                "chimioth\u00e9rapie d'induction ({ref})",
        "category_below_curie": "Curie \u2264 {cutoff} : favorable apr\u00e8s la "
                                "chimioth\u00e9rapie d'induction ({ref})",
        "category_above": "{scheme} > {cutoff} : au-dessus du seuil ({ref})",
        "category_below": "{scheme} \u2264 {cutoff} : au seuil ou en dessous ({ref})",
        "complete": "r\u00e9ponse compl\u00e8te (plus aucune fixation osseuse)",
        "partial": "r\u00e9ponse partielle (total diminu\u00e9 d'au moins 50 %)",
        "stable": "stable (total diminu\u00e9 de moins de 50 % ou inchang\u00e9)",
        "progression": "progression (total augment\u00e9)",
        "none at baseline": "pas d'atteinte osseuse sur les deux examens",
    },
}
