"""Adapters that put agentexec behind other frameworks' interfaces; each needs its extra."""
