"""Reading one command: its output from both terminals until its end marker, a timeout, or bash's death.

Output is read with ``select``/``os.read`` and streamed as it comes (nothing is held back: no
byte of output can be part of a marker), so a 10 MB output costs linear time. The end marker
comes on the marker channel once bash is back at its prompt, that is once the command's
foreground processes are done; what they wrote is then read from the output terminal to the end.
bash's own terminal carries what programs write to ``/dev/tty`` and bash's job reports; it is
read as it comes and once more at the end.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from agentexec.executors.bash.foreground import Foreground, Phase
from agentexec.executors.bash.markers import Ended, MarkerParser, Started
from agentexec.executors.bash.script import strip_runner_trace, strip_source_trace
from agentexec.executors.bash.terminals import MarkerChannel, OutputTerminal, read_available, read_once
from agentexec.executors.output import CleaningStats, OutputBuffer, OutputDecoder

#: After this many seconds without output, a command blocked reading its terminal returns as
#: "waiting_for_input" instead of waiting for a timeout ("[y/N]" prompts, REPLs, pagers).
INPUT_WAIT = 0.5

TimedOut = Literal["timeout", "no_output_timeout", "waiting_for_input"]


@dataclass
class Outcome:
    """How reading a command stopped: its end marker, a timeout, or bash gone (neither)."""

    buffer: OutputBuffer
    stats: CleaningStats = field(default_factory=CleaningStats)
    ended: Optional[Ended] = None
    timed_out: Optional[TimedOut] = None

    @property
    def died(self) -> bool:
        return self.ended is None and self.timed_out is None


@dataclass
class Limits:
    """When to stop waiting; ``quiet`` (the session's own steps) discards output and never probes input."""

    timeout: Optional[float]
    no_output_timeout: Optional[float] = None
    quiet: bool = False


class CommandReader:
    """Reads the command with id ``command_id`` once; ``waiting_for_input`` probes /proc."""

    def __init__(
        self,
        *,
        bash_fd: int,
        output: OutputTerminal,
        channel: MarkerChannel,
        foreground: Foreground,
        command_id: int,
        waiting_for_input: Callable[[], bool],
        max_output_chars: int,
        output_dir: Path,
        on_output: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.bash_fd, self.output, self.channel = bash_fd, output, channel
        self.foreground, self.command_id = foreground, command_id
        self.waiting_for_input = waiting_for_input
        self.on_output = on_output
        self.outcome = Outcome(OutputBuffer(max_output_chars, output_dir))
        self._decoders = {fd: OutputDecoder(self.outcome.stats) for fd in (bash_fd, output.master)}
        self._parser = MarkerParser()
        self._first_output = True
        self._quiet = False

    def read(self, limits: Limits) -> Outcome:
        self._quiet = limits.quiet
        out_fd, channel_fd = self.output.master, self.channel.fd
        start = last_output = next_input_check = time.monotonic()
        while True:
            now = time.monotonic()
            waits: list[tuple[TimedOut, float]] = []
            if limits.timeout is not None:
                waits.append(("timeout", start + limits.timeout - now))
            if limits.no_output_timeout is not None:
                waits.append(("no_output_timeout", last_output + limits.no_output_timeout - now))
            if not limits.quiet:
                waits.append(("waiting_for_input", max(last_output + INPUT_WAIT, next_input_check) - now))
            expired = [name for name, left in waits if left <= 0]
            if expired == ["waiting_for_input"]:
                next_input_check = now + INPUT_WAIT
                # The end marker may still be in flight when bash is back at its prompt, reading.
                if not self.waiting_for_input() or select.select([channel_fd], [], [], 0.05)[0]:
                    continue
            if expired:
                self._deliver(out_fd, b"", final=True)
                self.outcome.timed_out = expired[0]
                return self.outcome
            wait = min((left for _, left in waits), default=None)
            ready, _, _ = select.select([out_fd, self.bash_fd, channel_fd], [], [], wait)
            if self.bash_fd in ready:
                data = read_once(self.bash_fd)
                if not data:  # bash is gone
                    self._deliver(out_fd, self.output.read_final(), final=True)
                    return self.outcome
                last_output = time.monotonic()
                self._deliver(self.bash_fd, strip_runner_trace(data))
            if out_fd in ready:
                data = read_once(out_fd)
                if data:
                    last_output = time.monotonic()
                    self._deliver(out_fd, data)
            if channel_fd in ready and self._on_markers(self.channel.read()):
                self._deliver(out_fd, self.output.read_final(), final=True)
                self._deliver(self.bash_fd, read_available(self.bash_fd), final=True)
                return self.outcome

    def _on_markers(self, data: bytes) -> bool:
        """Act on what came on the channel; True once the current command has ended.

        Markers with another id come from a prompt no command of ours caused (a Ctrl-C that
        reached bash after its command had ended) and are skipped.
        """
        markers = [marker for marker in self._parser.feed(data) if marker.command_id == self.command_id]
        ended = next((marker for marker in markers if isinstance(marker, Ended)), None)
        if self.foreground.phase is Phase.LAUNCHED and any(isinstance(marker, Started) for marker in markers):
            self.foreground.started(ended=ended is not None)
        if ended is None:
            return False
        self.outcome.ended = ended
        return True

    def _deliver(self, fd: int, data: bytes, final: bool = False) -> None:
        if self._quiet:
            return
        if fd == self.output.master and self._first_output and data:
            data, self._first_output = strip_source_trace(data), False
        text = self._decoders[fd](data, final)
        if text:
            self.outcome.buffer.add(text)
            if self.on_output is not None:
                self.on_output(text)
