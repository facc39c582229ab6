"""The names this package loads on first use; its ``__init__`` reads them from here."""

from .engine import budget_split as budget_split
from .engine import execute as execute
from .engine import predict_accuracy as predict_accuracy
from .engine import tuning_for as tuning_for
from .release import Release as Release
from .store import ReleaseStore as ReleaseStore
from .store import TuningStore as TuningStore
