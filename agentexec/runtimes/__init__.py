"""Runtimes carry actions to an executor: ``local`` runs it in-process; ``process``, ``sandbox``,
``docker`` and ``ssh`` start ``agentexec serve --stdio`` elsewhere and share one client
(``remote.RemoteRuntime``), each only saying how the server is launched."""

from agentexec.runtimes.base import Runtime
from agentexec.runtimes.local import LocalRuntime

__all__ = ["LocalRuntime", "Runtime"]
