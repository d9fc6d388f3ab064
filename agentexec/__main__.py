"""``python -m agentexec`` is the ``agentexec`` command."""

import sys

if sys.argv[1:2] == ["serve"]:  # runtimes start servers often: skip typer's import and set-up
    import gc

    # Start-up builds what lives as long as the server (modules, classes, validators): collecting
    # during it finds next to nothing. The server freezes all of it and turns the collector back
    # on before the executor's own code runs (``server._end_startup``).
    gc.disable()

    from agentexec.cli.serve import main as serve

    sys.exit(serve(sys.argv[2:]))

from agentexec.cli.app import main

main()
