"""The names this package loads on first use; its ``__init__`` reads them from here."""

from .report import VetReport as VetReport
from .report import vet_report as vet_report
from .vetting import vet as vet
