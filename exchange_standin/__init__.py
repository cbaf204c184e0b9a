"""A stand-in Exchange server (EWS SOAP over HTTP, Basic auth, in memory) for tests and demos.

The gateway's own code never imports this package; tests and the `exchange-gateway emulator`
command do. See docs/emulator.md.
"""

from .faults import FAULT_KINDS, FaultRule
from .server import EmulatorError, EmulatorServer

__all__ = ["FAULT_KINDS", "EmulatorError", "EmulatorServer", "FaultRule"]
