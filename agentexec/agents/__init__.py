"""Agents decide actions: ``scripted`` plays a task's actions; subclass ``Agent`` for your own."""

from agentexec.agents.base import Agent, State, StopRun
from agentexec.agents.scripted import ScriptedAgent

__all__ = ["Agent", "ScriptedAgent", "State", "StopRun"]
