"""Every error agentexec raises on purpose, in one place.

    AgentexecError                      base of all of them
    ├── UsageError (ValueError)         bad input from the user: the CLI prints one line, exits 2
    │   ├── ConfigError                 a config file, environment variable or flag
    │   ├── ClassLoadError              a class path, entry point or constructor argument
    │   ├── TaskFileError               a task file
    │   ├── EventFormatError            a malformed event (task file, log line, protocol message)
    │   └── EventLogWriteError          the event log cannot be written (a full disk): the run stops
    ├── RuntimeFailure (RuntimeError)   the runtime could not carry an action to its executor
    │   └── RuntimeStartError (+UsageError)  its server never started (no daemon, a closed port):
    │                                        a setting to fix, so the CLI prints one line, exits 2
    ├── SessionBusy (RuntimeError)      a bash session got a command while one still runs
    └── FileTransferError (OSError)     a file read, write, upload or download failed
        ├── PathNotFound (FileNotFoundError)
        ├── PathPermissionDenied (PermissionError)
        ├── PathIsADirectory (IsADirectoryError)
        ├── PathNotADirectory (NotADirectoryError)
        └── FileTooLarge                a read over its size limit: an error, never a silent cut

Each also subclasses the stdlib exception a caller would naturally catch, as SWE-ReX does, so
``except ValueError`` keeps working for a library user who never heard of agentexec.
"""

from __future__ import annotations


class AgentexecError(Exception):
    """Base class of every error agentexec raises deliberately."""


class UsageError(AgentexecError, ValueError):
    """Bad input from the user; the message is one line saying what, where and how to fix it."""


class ConfigError(UsageError):
    """A configuration value is invalid or unknown."""


class ClassLoadError(UsageError):
    """A class path could not be resolved, or the class rejected its constructor arguments."""


class TaskFileError(UsageError):
    """A task file is missing, is not valid JSON, or does not match the task schema."""


class EventFormatError(UsageError):
    """A dict does not have the shape of an action, an observation or an output chunk."""


class EventLogWriteError(UsageError, OSError):
    """The event log could not take the next line (a full disk, a file size limit).

    The run stops there rather than execute actions it cannot record; the log keeps every line
    written whole before it, the torn one is cut off. The fix is the user's (free space, another
    ``--log``), so the CLI prints one line and exits 2.
    """


class RuntimeFailure(AgentexecError, RuntimeError):
    """The runtime could not carry an action to its executor (a dead server, a broken pipe)."""


class SessionBusy(AgentexecError, RuntimeError):
    """A new command was sent to a bash session while the previous one is still running."""


class RuntimeStartError(RuntimeFailure, UsageError):
    """A remote runtime's server did not start: one line naming the launcher, how it ended and why.

    It is a ``RuntimeFailure`` (the runtime is unusable) and a ``UsageError`` (what fixes it is the
    user's setup: start the Docker daemon, correct the ssh host or port), so the CLI exits 2.
    """


class FileTransferError(AgentexecError, OSError):
    """A file operation of the runtime failed; the message names the path."""


class PathNotFound(FileTransferError, FileNotFoundError):
    """The path does not exist where the executor runs."""


class PathPermissionDenied(FileTransferError, PermissionError):
    """The executor's user may not read or write the path."""


class PathIsADirectory(FileTransferError, IsADirectoryError):
    """A file operation met a directory."""


class PathNotADirectory(FileTransferError, NotADirectoryError):
    """A directory operation, or a parent in a path, met a file."""


class FileTooLarge(FileTransferError):
    """A read would exceed its size limit."""
