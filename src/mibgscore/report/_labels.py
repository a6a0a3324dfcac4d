"""Words of the reading report in English and French.

Segment names are not here: they come from the segment tables (``Segment.name_in``). Labels
with ``{max_grade}`` are filled from the table in use.
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "123I-MIBG whole-body scintigraphy: SIOPEN and Curie skeletal scores",
        "patient": "Patient", "patient_id": "Patient ID", "name": "Name",
        "birth_date": "Birth date", "sex": "Sex", "age": "Age", "years": "years",
        "study": "Study", "study_date": "Study date", "description": "Description",
        "accession": "Accession number", "study_uid": "Study UID", "institution": "Institution",
        "status": "Status", "draft": "NOT SIGNED - draft", "signed": "Signed",
        "amended": "Signed, amended",
        "summary": "Result", "siopen_total": "SIOPEN total", "curie_total": "Curie total",
        "category": "Category", "response": "Response",
        "views": "Anterior and posterior views with the automatic analysis",
        "views_note": "Segment outlines and numbered lesions found by the software; the grades "
                      "below are the reader's.",
        "siopen_table": "SIOPEN skeletal score (segments graded 0-{max_grade})",
        "curie_table": "Curie score (segments graded 0-{max_grade})",
        "segment": "Segment", "automatic": "Automatic", "final": "Final", "edited": "Edited",
        "total": "Total", "edited_mark": "edited",
        "edited_yes": "The reader changed the automatic score in {n} segment(s).",
        "edited_no": "The automatic score was accepted without change.",
        "no_automatic": "No automatic score (graded by the reader).",
        "comparison": "Comparison with the prior study",
        "prior": "Prior", "current": "Current", "change": "Change",
        "prior_date": "Prior study date",
        "impression": "Impression", "no_impression": "(none)",
        "reader": "Reader", "signed_at": "Signed at", "software": "Software",
        "automatic_score": "Automatic score",
        "amendments": "Amendment history", "when": "When", "who": "Who", "what": "Change",
        "reason": "Reason",
        "research": "Research use only \u2014 not a medical device",
        "page": "page",
        "complete": "complete response", "partial": "partial response", "stable": "stable",
        "progression": "progression", "none at baseline": "no skeletal disease at baseline",
    },
    "fr": {
        "title": "Scintigraphie corps entier \u00e0 la 123I-MIBG : scores squelettiques "
                 "SIOPEN et Curie",
        "patient": "Patient", "patient_id": "Identifiant patient", "name": "Nom",
        "birth_date": "Date de naissance", "sex": "Sexe", "age": "\u00c2ge", "years": "ans",
        "study": "Examen", "study_date": "Date de l'examen", "description": "Description",
        "accession": "Num\u00e9ro d'accession", "study_uid": "UID de l'examen",
        "institution": "\u00c9tablissement",
        "status": "Statut", "draft": "NON SIGN\u00c9 - brouillon", "signed": "Sign\u00e9",
        "amended": "Sign\u00e9, amend\u00e9",
        "summary": "R\u00e9sultat", "siopen_total": "Total SIOPEN", "curie_total": "Total Curie",
        "category": "Cat\u00e9gorie", "response": "R\u00e9ponse",
        "views": "Vues ant\u00e9rieure et post\u00e9rieure avec l'analyse automatique",
        "views_note": "Contours des segments et l\u00e9sions num\u00e9rot\u00e9es trouv\u00e9s "
                      "par le logiciel ; les grades ci-dessous sont ceux du lecteur.",
        "siopen_table": "Score squelettique SIOPEN (segments cot\u00e9s de 0 \u00e0 {max_grade})",
        "curie_table": "Score de Curie (segments cot\u00e9s de 0 \u00e0 {max_grade})",
        "segment": "Segment", "automatic": "Automatique", "final": "Final",
        "edited": "Modifi\u00e9", "total": "Total", "edited_mark": "modifi\u00e9",
        "edited_yes": "Le lecteur a modifi\u00e9 le score automatique dans {n} segment(s).",
        "edited_no": "Le score automatique a \u00e9t\u00e9 accept\u00e9 sans modification.",
        "no_automatic": "Pas de score automatique (cotation par le lecteur).",
        "comparison": "Comparaison avec l'examen ant\u00e9rieur",
        "prior": "Ant\u00e9rieur", "current": "Actuel", "change": "\u00c9volution",
        "prior_date": "Date de l'examen ant\u00e9rieur",
        "impression": "Conclusion", "no_impression": "(aucune)",
        "reader": "M\u00e9decin lecteur", "signed_at": "Sign\u00e9 le", "software": "Logiciel",
        "automatic_score": "Score automatique",
        "amendments": "Historique des modifications", "when": "Date", "who": "Par",
        "what": "Modification", "reason": "Motif",
        "research": "Usage recherche uniquement \u2014 ce n'est pas un dispositif "
                    "m\u00e9dical",
        "page": "page",
        "complete": "r\u00e9ponse compl\u00e8te", "partial": "r\u00e9ponse partielle",
        "stable": "stable", "progression": "progression",
        "none at baseline": "pas d'atteinte osseuse initiale",
    },
}
