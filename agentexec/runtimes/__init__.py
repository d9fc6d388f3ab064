"""Runtimes carry actions to an executor: ``local`` (in-process) and, later, out-of-process ones."""

from agentexec.runtimes.base import Runtime
from agentexec.runtimes.local import LocalRuntime

__all__ = ["LocalRuntime", "Runtime"]
