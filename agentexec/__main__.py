"""``python -m agentexec`` is the ``agentexec`` command."""

import sys

if sys.argv[1:2] == ["serve"]:  # runtimes start servers often: skip typer's import and set-up
    from agentexec.cli.serve import main as serve

    sys.exit(serve(sys.argv[2:]))

from agentexec.cli.app import main

main()
