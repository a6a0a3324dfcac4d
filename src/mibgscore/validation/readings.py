"""Reference readings: physicians' per-segment grades from CSV or Excel, wide or long form.

Wide form: one row per study and reader, columns ``patient_id``, ``study_date`` (YYYY-MM-DD),
``study_uid``, ``reader``, the 12 SIOPEN keys, optional ``siopen_total``, optional Curie columns
``curie_head`` ... ``curie_soft_tissue`` and ``curie_total``. The ``results.csv`` written by
``mibgscore batch`` is a wide-form file (with ``file`` and ``warnings``, and no reader); its
last columns, :data:`METADATA_COLUMNS`, say what scored each study and are read as text.

Long form: ``study_uid`` or ``patient_id`` + ``study_date``, ``reader``, ``segment``, ``grade``;
one row per segment (``skull`` ... or ``curie_head`` ...).

Headers are matched leniently (case, spaces, accents, common English and French names) and
every column's reading is reported; values are checked strictly, and each problem raises
:class:`~mibgscore.errors.ReadingsFileError` naming the file, row and column.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mibgscore.anatomy.grades import Grades
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, SegmentScheme, load_scheme
from mibgscore.errors import ReadingsFileError
from mibgscore.io.tables import unescape_cell

logger = logging.getLogger(__name__)

CURIE_COLUMNS: tuple[str, ...] = tuple(f"curie_{k}" for k in CURIE_KEYS)
"""Curie grade columns of the wide form and of results.csv."""

ID_COLUMNS: tuple[str, ...] = ("patient_id", "study_date", "study_uid", "reader", "file")
METADATA_COLUMNS: tuple[str, ...] = ("siopen_scheme", "curie_scheme", "model_name",
                                     "model_version", "model_sha256")
"""What scored a study, as the last columns of results.csv: the names of the segment tables and
the lesion model (``ScoreResult.model``). Read as text (None where blank), never as grades."""
GRADE_COLUMNS: tuple[str, ...] = (*SIOPEN_KEYS, "siopen_total", *CURIE_COLUMNS, "curie_total")
TEMPLATES = ("readings_wide_template.csv", "readings_wide_template.xlsx",
             "readings_long_template.csv")
"""Template files shipped in ``mibgscore.validation.templates``."""

_IGNORED = {"comment", "comments", "commentaire", "commentaires", "note", "notes", "remarque",
            "remarques", "remark", "remarks", "warnings", "warning", "avertissements", "seconds",
            "impression", "conclusion"}
_DESCRIPTIVE = {"category", "categorie", "seed", "age_years", "age", "height_cm", "weight_kg",
                "sex", "sexe", "study_key", "signed_at", "edited", "accession_number"}
"""Columns that describe a study or its reading, not a grade: the simulator's truth.csv
(``category``, ``seed``, ``age_years``, ``height_cm``) and the web application's readings
export (``study_key``, ``signed_at``, ``edited``). Read past, with a note."""
SIGNED_STATUSES = ("signed", "amended", "final", "verified")
"""Values of a ``status`` column (the web application's readings export) of a physician's
signed reading; rows with any other status are skipped with a warning."""

_ALIASES: dict[str, tuple[str, ...]] = {
    "patient_id": ("patient_id", "patientid", "patient", "id_patient", "patient_number",
                   "ipp", "pid", "subject", "subject_id", "numero_patient", "n_patient",
                   "num_patient", "no_patient", "identifiant", "identifiant_patient", "id"),
    "study_date": ("study_date", "studydate", "date", "exam_date", "date_exam", "examen_date",
                   "date_examen", "date_d_examen", "date_de_l_examen", "date_de_examen",
                   "scan_date", "date_scan", "date_scintigraphie", "acquisition_date",
                   "date_etude", "date_de_l_etude"),
    "study_uid": ("study_uid", "studyuid", "study_instance_uid", "studyinstanceuid", "uid",
                  "study_instance", "uid_etude", "uid_examen"),
    "reader": ("reader", "reader_name", "lecteur", "lecteur_nom", "observer", "rater",
               "physician", "medecin", "reviewer", "relecteur", "lecture", "nom_lecteur"),
    "file": ("file", "fichier", "path", "filename", "file_name", "chemin"),
    "segment": ("segment", "site", "region", "localisation", "localization", "zone",
                "territoire"),
    "grade": ("grade", "score", "cotation", "valeur", "value"),
    "siopen_total": ("siopen_total", "total_siopen", "siopen", "siopen_score", "score_siopen",
                     "total", "score_total", "total_score"),
    "curie_total": ("curie_total", "total_curie", "curie", "curie_score", "score_curie"),
    "status": ("status", "statut", "reading_status"),
    **{name: (name,) for name in METADATA_COLUMNS},
}
"""Header names of the columns that are not segments (segment names come from the tables)."""
_CURIE_PREFIXES = ("curie_", "c_", "curie_score_")
"""How a Curie segment's column is told from a SIOPEN one (``curie_<name>``)."""
_SIDE = {"right": "right", "rt": "right", "r": "right", "droit": "right", "droite": "right",
         "dt": "right", "left": "left", "lt": "left", "l": "left", "gauche": "left", "g": "left"}
_LIMB = {"upper": "upper", "sup": "upper", "superieur": "upper", "superior": "upper",
         "arm": "upper", "ms": "upper", "lower": "lower", "inf": "lower", "inferieur": "lower",
         "inferior": "lower", "leg": "lower", "mi": "lower"}
_PART = {"proximal": "proximal", "prox": "proximal", "distal": "distal", "dist": "distal"}
_FILLER = {"limb", "limbs", "membre", "membres", "extremity", "segment", "siopen", "de", "du",
           "la", "le", "of", "the"}


def _norm(text: str) -> str:
    """Lower case, accents dropped, runs of other characters as one underscore."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _limb_signature(tokens: list[str]) -> tuple[str, str, str] | None:
    """(side, limb, part) of a limb segment's name, or None when the words are not only a
    side, a limb and a part (``["l", "lower", "prox"]`` -> ``("left", "lower", "proximal")``)."""
    tokens = [t for t in tokens if t and t not in _FILLER]
    if not tokens or not all(t in _SIDE or t in _LIMB or t in _PART for t in tokens):
        return None
    sides = {_SIDE[t] for t in tokens if t in _SIDE}
    limbs = {_LIMB[t] for t in tokens if t in _LIMB}
    parts = {_PART[t] for t in tokens if t in _PART}
    if len(sides) == len(limbs) == len(parts) == 1:
        return sides.pop(), limbs.pop(), parts.pop()
    return None


def _lookups() -> tuple[dict[str, str], dict[tuple[str, str, str], str]]:
    """Header name -> column, from ``_ALIASES`` and the bundled segment tables (key, English
    and French names, aliases; Curie names behind ``_CURIE_PREFIXES``), and limb signature ->
    SIOPEN key (for free-form limb headers such as "R upper limb, prox.")."""
    lookup: dict[str, str] = {}
    for key, names in _ALIASES.items():
        for name in names:
            lookup.setdefault(name, key)
    limbs: dict[tuple[str, str, str], str] = {}
    for seg in load_scheme("siopen").segments:
        for name in seg.header_names:
            lookup.setdefault(_norm(name), seg.key)
            lookup.setdefault("siopen_" + _norm(name), seg.key)  # the web export's name
            signature = _limb_signature(_norm(name).split("_"))
            if signature is not None:
                limbs.setdefault(signature, seg.key)
    for seg in load_scheme("curie").segments:
        for name in seg.header_names:
            for prefix in _CURIE_PREFIXES:
                lookup.setdefault(prefix + _norm(name), f"curie_{seg.key}")
    return lookup, limbs


_LOOKUP, _LIMBS = _lookups()


def canonical_name(header: str) -> str | None:
    """The project's name for a column header, or None when it is not understood.

    Segment columns are known by the names the segment tables give (key, English and French
    names, aliases; ``curie_`` before a Curie segment's), ignoring case, accents and
    punctuation, and limb segments also by any spelling of their side, limb and part.

    Examples
    --------
    >>> canonical_name("CRANE"), canonical_name("Date d'examen"), canonical_name("Lecteur")
    ('skull', 'study_date', 'reader')
    >>> canonical_name("sup. droit, prox.")
    'right_upper_limb_proximal'
    >>> canonical_name("Curie - parties molles")
    'curie_soft_tissue'
    """
    norm = _norm(header)
    if norm in _LOOKUP:
        return _LOOKUP[norm]
    signature = _limb_signature(norm.split("_"))
    return None if signature is None else _LIMBS.get(signature)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class Readings:
    """Readings in wide form, checked.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per study and reader: ``patient_id``, ``study_date`` (YYYY-MM-DD or None),
        ``study_uid``, ``reader``, ``file``, ``row`` (spreadsheet row of the source, or the
        first row of the study in long form), the 12 SIOPEN keys, ``siopen_total``, the
        Curie columns and ``curie_total`` (nullable integers; Curie may be missing), then
        the :data:`METADATA_COLUMNS` (text or None).
    notes : list of str
        How each column was understood.
    path : str
        The source file.
    form : str
        ``"wide"`` or ``"long"``.
    metadata : tuple of str
        The :data:`METADATA_COLUMNS` the file has (none for a readings file, or a results.csv
        written before they existed).
    """

    table: Any
    notes: list[str] = field(default_factory=list)
    path: str = ""
    form: str = "wide"
    metadata: tuple[str, ...] = ()

    @property
    def readers(self) -> list[str]:
        """Reader names, in order of first appearance."""
        return list(dict.fromkeys(self.table["reader"]))

    @property
    def has_curie(self) -> bool:
        """Whether any row gives Curie grades."""
        return bool(self.table["curie_total"].notna().any())


def read_readings(path: str | Path, *, default_reader: str | None = None) -> Readings:
    """Read and check a readings file (CSV or .xlsx, wide or long form).

    Parameters
    ----------
    path : str or Path
        The file. CSV may use ``,`` or ``;`` and UTF-8 or Windows-1252; Excel uses the first
        sheet.
    default_reader : str, optional
        Reader name for files without a reader column (default: the file's stem).

    Returns
    -------
    Readings

    Raises
    ------
    ReadingsFileError
        The file cannot be read; a column or segment is unknown; a grade is outside its
        scale; a total differs from the sum of its segments; a row repeats; a date is not
        YYYY-MM-DD; a row names no study.
    """
    path = Path(path)
    frame = _load_frame(path)
    if frame.shape[0] == 0:
        raise ReadingsFileError("the file holds no reading (only a header, or nothing).", path)
    mapping, notes = _map_headers(list(frame.columns), path)
    reader_name = default_reader or path.stem
    if "segment" in mapping.values() or "grade" in mapping.values():
        if not {"segment", "grade"} <= set(mapping.values()):
            missing = "segment" if "segment" not in mapping.values() else "grade"
            raise ReadingsFileError(f"long-form readings need both a segment and a grade "
                                    f"column; there is no {missing} column.", path)
        table = _long_to_wide(frame, mapping, path, reader_name)
        form = "long"
    else:
        table = _wide(frame, mapping, path, reader_name, notes)
        form = "wide"
    if "reader" not in mapping.values():
        notes.append(f"no reader column: every reading is attributed to {reader_name!r}.")
    _check_duplicates(table, path)
    logger.debug("%d readings in %s form, %d readers", len(table), form,
                 table["reader"].nunique())
    metadata = tuple(c for c in METADATA_COLUMNS if c in mapping.values())
    return Readings(table=table, notes=notes, path=str(path), form=form, metadata=metadata)


def _load_frame(path: Path):
    import pandas as pd

    if not path.is_file():
        raise ReadingsFileError("no such file.", path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
        elif suffix == ".xls":
            raise ReadingsFileError("old .xls workbooks are not read; save the sheet as .xlsx "
                                    "or CSV.", path)
        elif suffix in (".csv", ".txt", ".tsv"):
            frame = None
            for encoding in ("utf-8-sig", "cp1252"):
                try:
                    frame = pd.read_csv(path, sep=None, engine="python", dtype=str,
                                        keep_default_na=False, encoding=encoding)
                    break
                except UnicodeDecodeError:
                    continue
            if frame is None:
                raise ReadingsFileError("the text is neither UTF-8 nor Windows-1252.", path)
        else:
            raise ReadingsFileError(f"readings must be a .csv or .xlsx file, not "
                                    f"{suffix or 'a file without extension'}.", path)
    except ReadingsFileError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise ReadingsFileError("the file is empty.", path) from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ReadingsFileError(f"cannot read the table ({exc}).", path) from exc
    frame = frame.dropna(how="all")
    frame = frame.loc[~frame.apply(lambda r: all(str(v).strip() == "" for v in r), axis=1)]
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _map_headers(headers: list[str], path: Path) -> tuple[dict[str, str], list[str]]:
    mapping: dict[str, str] = {}
    notes: list[str] = []
    as_is: list[str] = []
    automatic: list[str] = []
    seen: dict[str, str] = {}
    for i, header in enumerate(headers):
        letter = _column_letter(i)
        if header.startswith("Unnamed:") or header.strip() == "":
            continue
        name = canonical_name(header)
        norm = _norm(header)
        if name is None or norm.endswith("_auto"):
            if norm in _IGNORED:
                notes.append(f"column {letter} {header!r} ignored (free text).")
                continue
            if norm in _DESCRIPTIVE:
                notes.append(f"column {letter} {header!r} ignored (it describes the study, "
                             "not a grade).")
                continue
            if norm.endswith("_auto") and canonical_name(norm.removesuffix("_auto")):
                automatic.append(letter)
                continue
            raise ReadingsFileError(
                f"column {letter} is headed {header!r}, which is not a known column; expected "
                f"patient_id, study_date, study_uid, reader, the {len(SIOPEN_KEYS)} SIOPEN "
                "segment keys "
                f"({', '.join(SIOPEN_KEYS)}), siopen_total, curie_<segment>, curie_total "
                "(or, in long form, segment and grade).", path)
        if name in seen:
            raise ReadingsFileError(f"columns {seen[name]} and {letter} ({header!r}) both give "
                                    f"{name}; keep one.", path)
        seen[name] = letter
        mapping[header] = name
        if header == name:
            as_is.append(name)
        else:
            notes.append(f"column {letter} {header!r} read as {name}.")
    if as_is:
        notes.insert(0, f"{len(as_is)} column{'s' if len(as_is) > 1 else ''} read as named: "
                        f"{', '.join(as_is)}.")
    if automatic:
        notes.append(f"{_plural(len(automatic), 'column')} ending in _auto ({automatic[0]}-"
                     f"{automatic[-1]}) ignored: an automatic proposal is not a reading (give "
                     "the automatic results with --auto).")
    return mapping, notes


def _plural(n: int, word: str) -> str:
    """``1 column``, ``2 columns``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    text = unescape_cell(str(value).strip())  # a cell our CSV files made formula-safe
    return "" if text.lower() in ("nan", "nat", "none") else text


def _parse_date(value: Any, path: Path, row: int, column: str) -> str | None:
    if isinstance(value, (dt.datetime, dt.date)):  # an Excel date cell is unambiguous
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    text = _cell_text(value)
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00:00)?", text)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            pass
    raise ReadingsFileError(f"row {row}, column {column} (study_date): {text!r} is not a date "
                            "written YYYY-MM-DD (e.g. 2024-03-15).", path)


def _scheme_of(column: str) -> SegmentScheme | None:
    """The scheme whose grade a column holds (None for totals)."""
    if column in SIOPEN_KEYS:
        return load_scheme("siopen")
    if column in CURIE_COLUMNS:
        return load_scheme("curie")
    return None


def _parse_grade(value: Any, path: Path, row: int, column: str, key: str,
                 scheme: SegmentScheme | None) -> int | None:
    text = _cell_text(value)
    if not text:
        return None
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise ReadingsFileError(f"row {row}, column {column} ({key}): {text!r} is not a "
                                "number.", path) from None
    if not number.is_integer():
        raise ReadingsFileError(f"row {row}, column {column} ({key}): {text!r} is not a "
                                "whole-number grade.", path)
    grade = int(number)
    if scheme is not None and not 0 <= grade <= scheme.max_grade:
        raise ReadingsFileError(f"row {row} gives {key} grade {grade} (column {column}), but "
                                f"{scheme.name} grades run from 0 to {scheme.max_grade}.", path)
    if scheme is None and grade < 0:
        raise ReadingsFileError(f"row {row}, column {column}: {key} {grade} is negative.", path)
    return grade


def _empty_record(reader: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"patient_id": None, "study_date": None, "study_uid": None,
                           "reader": reader, "file": None, "row": 0}
    for key in (*GRADE_COLUMNS, *METADATA_COLUMNS):
        rec[key] = None
    return rec


def _ids(rec: dict[str, Any], cells: dict[str, Any], letters: dict[str, str], path: Path,
         row: int) -> None:
    for key in ("patient_id", "study_uid", "reader", "file"):
        if key in cells:
            text = _cell_text(cells[key])
            if isinstance(cells[key], float) and text.endswith(".0"):
                text = text[:-2]  # Excel turns 1042 into 1042.0
            if text:
                rec[key] = text
    for key in METADATA_COLUMNS:
        if key in cells:
            rec[key] = _cell_text(cells[key]) or None
    if "study_date" in cells:
        rec["study_date"] = _parse_date(cells["study_date"], path, row, letters["study_date"])
    if not rec["study_uid"] and not (rec["patient_id"] and rec["study_date"]) \
            and not rec["file"]:
        raise ReadingsFileError(f"row {row} names no study: give study_uid, or patient_id "
                                "and study_date, or file.", path)


def _wide(frame, mapping: dict[str, str], path: Path, reader: str,
          skipped: list[str] | None = None):
    import pandas as pd

    skipped = [] if skipped is None else skipped

    headers = list(frame.columns)
    letters = {mapping[h]: _column_letter(headers.index(h)) for h in mapping}
    siopen_given = [k for k in SIOPEN_KEYS if k in letters]
    curie_given = [k for k in CURIE_COLUMNS if k in letters]
    if len(siopen_given) != len(SIOPEN_KEYS):
        missing = [k for k in SIOPEN_KEYS if k not in letters]
        raise ReadingsFileError(f"the SIOPEN column(s) {', '.join(missing)} are missing; a "
                                f"wide-form file gives all {len(SIOPEN_KEYS)} segments.", path)
    if curie_given and len(curie_given) != len(CURIE_COLUMNS):
        missing = [k for k in CURIE_COLUMNS if k not in letters]
        raise ReadingsFileError(f"the Curie column(s) {', '.join(missing)} are missing; give "
                                f"all {len(CURIE_COLUMNS)} Curie segments or none.", path)
    records = []
    unsigned: dict[str, int] = {}
    for pos, (_, series) in enumerate(frame.iterrows()):
        row = int(series.name) + 2 if isinstance(series.name, (int, np.integer)) else pos + 2
        cells = {mapping[h]: series[h] for h in mapping}
        status = _cell_text(cells.get("status", "signed")).lower()
        if status not in SIGNED_STATUSES:
            unsigned[status or "(blank)"] = unsigned.get(status or "(blank)", 0) + 1
            continue
        rec = _empty_record(reader)
        rec["row"] = row
        _ids(rec, cells, letters, path, row)
        for key in GRADE_COLUMNS:
            if key not in cells:
                continue
            rec[key] = _parse_grade(cells[key], path, row, letters[key], key, _scheme_of(key))
        _complete_scheme(rec, SIOPEN_KEYS, "siopen_total", path, row, letters, required=True)
        if curie_given:
            _complete_scheme(rec, CURIE_COLUMNS, "curie_total", path, row, letters,
                             required=False)
        records.append(rec)
    if unsigned:
        n = sum(unsigned.values())
        which = ", ".join(f"{k} ({v})" for k, v in unsigned.items())
        if not records:
            raise ReadingsFileError(f"no row is a signed reading: the status column (column "
                                    f"{letters['status']}) gives {which}; sign the readings, "
                                    "or export them once signed.", path)
        warning = (f"{_plural(n, 'row')} skipped: not a signed reading (status {which}, "
                   f"column {letters['status']}).")
        logger.warning("%s: %s", path.name, warning)
        skipped.append(warning)
    return _to_frame(pd, records)


def _complete_scheme(rec: dict[str, Any], keys: tuple[str, ...], total_key: str, path: Path,
                     row: int, letters: dict[str, str], *, required: bool) -> None:
    blank = [k for k in keys if rec[k] is None]
    if blank and (required or len(blank) < len(keys)):
        where = ", ".join(f"{k} (column {letters[k]})" if k in letters else k for k in blank)
        raise ReadingsFileError(f"row {row} has no grade for {where}; give 0 for a normal "
                                "segment.", path)
    if blank:
        if rec[total_key] is not None:
            raise ReadingsFileError(f"row {row} gives {total_key} {rec[total_key]} but no "
                                    "segment grades.", path)
        return
    total = _segment_total(rec, keys)
    if rec[total_key] is not None and rec[total_key] != total:
        raise ReadingsFileError(f"row {row} gives {total_key} {rec[total_key]}, but its "
                                f"segments sum to {total}.", path)
    rec[total_key] = total


def _segment_total(rec: dict[str, Any], columns: tuple[str, ...]) -> int:
    """Total of one reading's grades in ``columns`` (SIOPEN keys or Curie columns), checked
    against their scheme."""
    scheme = _scheme_of(columns[0])
    assert scheme is not None
    return Grades(scheme, dict(zip(scheme.keys, (rec[c] for c in columns), strict=True))).total


def _long_to_wide(frame, mapping: dict[str, str], path: Path, reader: str):
    import pandas as pd

    headers = list(frame.columns)
    letters = {mapping[h]: _column_letter(headers.index(h)) for h in mapping}
    extra = [k for k in mapping.values()
             if k not in (*ID_COLUMNS, *METADATA_COLUMNS, "segment", "grade")]
    if extra:
        raise ReadingsFileError(f"column {letters[extra[0]]} gives {extra[0]} in a long-form "
                                "file; long form has one segment per row (segment, grade).",
                                path)
    grouped: dict[tuple, dict[str, Any]] = {}
    where: dict[tuple, int] = {}
    for pos, (_, series) in enumerate(frame.iterrows()):
        row = int(series.name) + 2 if isinstance(series.name, (int, np.integer)) else pos + 2
        cells = {mapping[h]: series[h] for h in mapping}
        rec = _empty_record(reader)
        _ids(rec, cells, letters, path, row)
        segment_text = _cell_text(cells["segment"])
        key = _segment_key(segment_text)
        if key is None:
            raise ReadingsFileError(
                f"row {row}, column {letters['segment']}: segment {segment_text!r} is neither a "
                f"SIOPEN key ({', '.join(SIOPEN_KEYS)}) nor a Curie key "
                f"({', '.join(CURIE_COLUMNS)}), nor siopen_total/curie_total.", path)
        grade = _parse_grade(cells["grade"], path, row, letters["grade"], key, _scheme_of(key))
        if grade is None:
            raise ReadingsFileError(f"row {row}, column {letters['grade']}: no grade for {key}.",
                                    path)
        ident = (rec["study_uid"], rec["patient_id"], rec["study_date"], rec["reader"])
        target = grouped.setdefault(ident, {**rec, "row": row})
        if target.get(key) is not None:
            raise ReadingsFileError(f"rows {where[(*ident, key)]} and {row} both give {key} "
                                    f"for {_study_label(rec)} by reader {rec['reader']}; keep "
                                    "one.", path)
        where[(*ident, key)] = row
        target[key] = grade
    records = []
    for rec in grouped.values():
        row = rec["row"]
        label = f"{_study_label(rec)} by reader {rec['reader']} (first row {row})"
        missing = [k for k in SIOPEN_KEYS if rec[k] is None]
        if missing:
            raise ReadingsFileError(f"the reading of {label} lacks {', '.join(missing)}; long "
                                    f"form needs a row for each of the {len(SIOPEN_KEYS)} "
                                    "SIOPEN segments.",
                                    path)
        _check_total(rec, SIOPEN_KEYS, "siopen_total", path, label)
        curie_missing = [k for k in CURIE_COLUMNS if rec[k] is None]
        if len(curie_missing) not in (0, len(CURIE_COLUMNS)):
            raise ReadingsFileError(f"the reading of {label} lacks {', '.join(curie_missing)}; "
                                    f"give all {len(CURIE_COLUMNS)} Curie segments or none.",
                                    path)
        if not curie_missing:
            _check_total(rec, CURIE_COLUMNS, "curie_total", path, label)
        elif rec["curie_total"] is not None:
            raise ReadingsFileError(f"the reading of {label} gives curie_total but no Curie "
                                    "segments.", path)
        records.append(rec)
    return _to_frame(pd, records)


def _check_total(rec: dict[str, Any], keys: tuple[str, ...], total_key: str, path: Path,
                 label: str) -> None:
    total = _segment_total(rec, keys)
    if rec[total_key] is not None and rec[total_key] != total:
        raise ReadingsFileError(f"the reading of {label} gives {total_key} {rec[total_key]}, "
                                f"but its segments sum to {total}.", path)
    rec[total_key] = total


def _segment_key(text: str) -> str | None:
    name = canonical_name(text)
    if name in SIOPEN_KEYS or name in CURIE_COLUMNS or name in ("siopen_total", "curie_total"):
        return name
    return None


def _study_label(rec: dict[str, Any]) -> str:
    if rec.get("study_uid"):
        return f"study {rec['study_uid']}"
    if not (rec.get("patient_id") and rec.get("study_date")) and rec.get("file"):
        return f"file {rec['file']}"
    return f"patient {rec['patient_id']} on {rec['study_date']}"


def file_key(file: str) -> str:
    """How a ``file`` column matches a study when nothing else names it: the file's name
    without folders and without ``.dcm``/``.zip`` (``truth.csv`` of ``mibgscore simulate``
    names ``case_000.dcm``; ``results.csv`` the path it was scored from).

    Examples
    --------
    >>> file_key("/data/sim/case_000.dcm"), file_key("case_000.dcm")
    ('case_000', 'case_000')
    """
    name = re.split(r"[\\/]", str(file).strip())[-1]
    for suffix in (".dcm", ".DCM", ".zip", ".ZIP"):
        name = name.removesuffix(suffix)
    return name


def _to_frame(pd, records: list[dict[str, Any]]):
    columns = [*ID_COLUMNS, "row", *GRADE_COLUMNS, *METADATA_COLUMNS]
    table = pd.DataFrame.from_records(records, columns=columns)
    for key in GRADE_COLUMNS:
        table[key] = pd.array(table[key].tolist(), dtype="Int64")
    for key in (*ID_COLUMNS, *METADATA_COLUMNS):
        table[key] = table[key].astype(object).where(table[key].notna(), None)
    return table


def _check_duplicates(table, path: Path) -> None:
    seen: dict[tuple, int] = {}
    for rec in table.to_dict("records"):
        keys = []
        if rec["study_uid"]:
            keys.append(("uid", rec["study_uid"], rec["reader"]))
        if rec["patient_id"] and rec["study_date"]:
            keys.append(("pd", rec["patient_id"], rec["study_date"], rec["reader"]))
        if not keys and rec["file"]:
            keys.append(("file", file_key(rec["file"]), rec["reader"]))
        for key in keys:
            if key in seen:
                raise ReadingsFileError(f"rows {seen[key]} and {rec['row']} both give reader "
                                        f"{rec['reader']}'s reading of {_study_label(rec)}; "
                                        "keep one.", path)
        for key in keys:
            seen[key] = rec["row"]


def template_path(name: str) -> Path:
    """Path of a shipped template (one of :data:`TEMPLATES`)."""
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r}")
    return Path(str(resources.files("mibgscore.validation.templates").joinpath(name)))


def write_templates(out_dir: str | Path) -> list[Path]:
    """Copy the readings templates (wide CSV and Excel, long CSV) into ``out_dir``."""
    import shutil

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TEMPLATES:
        target = out / name
        shutil.copyfile(template_path(name), target)
        written.append(target)
    return written
