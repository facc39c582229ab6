"""The names this package loads on first use; its ``__init__`` reads them from here."""

from .backends import make_sandbox as make_sandbox
from .bwrap import BubblewrapSandbox as BubblewrapSandbox
from .insecure import InsecureSandbox as InsecureSandbox
from .jobs import AnalysisJob as AnalysisJob
from .jobs import Job as Job
from .jobs import QueryJob as QueryJob
from .limits import Limits as Limits
from .protocol import Sandbox as Sandbox
from .protocol import Step as Step
from .protocol import run as run
from .protocol import run_analysis as run_analysis
from .protocol import run_query as run_query
from .stub import StubSandbox as StubSandbox
from .unshare import UnshareSandbox as UnshareSandbox
