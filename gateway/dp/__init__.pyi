"""The names this package loads on first use; its ``__init__`` reads them from here."""

from .engine import Outcome as Outcome
from .engine import budget_split as budget_split
from .engine import execute as execute
from .engine import predict_accuracy as predict_accuracy
from .release import Release as Release
