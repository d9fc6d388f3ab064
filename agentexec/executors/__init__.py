"""Executors: what performs actions. Subclass ``ActionExecutor`` and add ``@action`` methods."""

from agentexec.executors.base import ActionSpec, BaseActionExecutor, RuntimeExecutor, action
from agentexec.executors.standard import ActionExecutor

__all__ = ["ActionExecutor", "ActionSpec", "BaseActionExecutor", "RuntimeExecutor", "action"]
