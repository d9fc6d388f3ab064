"""Bridges from agentexec's executors to other agent hosts (MCP, mini-swe-agent, Inspect)."""
