"""``python -m agentexec`` is the ``agentexec`` command."""

from agentexec.cli.app import main

main()
