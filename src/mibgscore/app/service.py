"""Former home of the web application's services, now split by job; names kept for callers.

New code imports from the job modules: ``users``, ``imports``, ``scoring``, ``readings``,
``studies``, ``followup``, ``exports`` and ``storage`` (``mibgscore users`` still imports
``ServiceError``, ``Store`` and ``add_user`` from here).
"""

from mibgscore.app.exports import readings_csv
from mibgscore.app.followup import followup, prior_of
from mibgscore.app.imports import ImportReport, import_files
from mibgscore.app.readings import accept_all, amend, delete_study, set_grade, set_impression, sign
from mibgscore.app.scoring import ScoringQueue, score_study
from mibgscore.app.storage import Store, map_pixels, view_pixels
from mibgscore.app.studies import reading, summary, worklist
from mibgscore.app.users import add_user, user_names
from mibgscore.errors import ServiceError

__all__ = [
    "ImportReport", "ScoringQueue", "ServiceError", "Store", "accept_all", "add_user", "amend",
    "delete_study", "followup", "import_files", "map_pixels", "prior_of", "reading",
    "readings_csv", "score_study", "set_grade", "set_impression", "sign", "summary",
    "user_names", "view_pixels", "worklist",
]
