"""A persistent bash session for agents; see ``session`` for how a command runs.

Modules: ``script`` (the shell-side text), ``markers`` (parsing the marker channel), ``terminals``
and ``background`` (the file descriptors and the thread draining retired terminals),
``foreground`` (the running command and its keys), ``reader`` (reading one command) and
``session`` (``BashSession``).
"""

from agentexec.errors import SessionBusy
from agentexec.executors.bash.foreground import CONTROL_KEYS
from agentexec.executors.bash.result import NON_INTERACTIVE_ENV, CommandResult
from agentexec.executors.bash.session import BashSession

__all__ = ["CONTROL_KEYS", "NON_INTERACTIVE_ENV", "BashSession", "CommandResult", "SessionBusy"]
