"""The ``run_ipython`` action: Python cells in one persistent IPython kernel per executor.

A mixin of ``ActionExecutor``. The kernel is a resource like the bash session, but started on the
first cell rather than in ``setup()``, so an executor that never runs Python never pays for a
kernel, and jupyter_client is imported only then (the ``ipython`` extra). ``close()`` stops it;
a subclass replaces it by overriding ``make_kernel()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from agentexec.events import Observation, error
from agentexec.executors.base import BaseActionExecutor, action
from agentexec.executors.extras import cut_middle, outputs_directory

if TYPE_CHECKING:
    from agentexec.executors.ipython_kernel import CellResult, IPythonKernel


class IPythonActions(BaseActionExecutor):
    """``run_ipython``; the kernel starts on the first cell, in the workspace, with the executor's env."""

    #: Defaults for a class that mixes this in without ``ActionExecutor``'s options.
    timeout: float = 120.0
    max_output_chars: int = 30_000
    output_dir: Optional[Path] = None
    kernel: Optional[IPythonKernel] = None

    def make_kernel(self) -> IPythonKernel:
        """The kernel the first cell starts; override to start another kind or with other options."""
        from agentexec.executors.ipython_kernel import IPythonKernel

        return IPythonKernel(self.workspace, self.env, outputs_directory(self.output_dir))

    @action(extra="ipython")
    def run_ipython(self, code: str, timeout: Optional[float] = None) -> Observation:
        """Run Python in a persistent IPython kernel (variables, imports and the cwd carry over; magics work).

        Images a cell displays are saved as files, named in the output and in extras.images. A cell
        still running at its timeout is interrupted (KeyboardInterrupt) and the kernel keeps its state.

        Args:
            code: the cell's code.
            timeout: seconds before the cell is interrupted (default: the executor's timeout).
        """
        from agentexec.executors.ipython_kernel import KernelStartError

        if self.kernel is None:
            self.kernel = self.make_kernel()
            try:
                self.kernel.start()
            except KernelStartError as exc:
                self.kernel = None
                return error(f"run_ipython: {exc}")
        result = self.kernel.execute(code, timeout if timeout is not None else self.timeout, self.emit)
        content = cut_middle(result.text, self.max_output_chars)
        content += "".join(f"\n[{note}]" for note in result.notes)
        return Observation(observation="run_ipython", content=content, extras=_cell_extras(result))

    def interrupt(self) -> None:
        """Interrupt the running cell as well as whatever the classes after this one interrupt."""
        if self.kernel is not None:
            self.kernel.interrupt()
        parent = getattr(super(), "interrupt", None)
        if parent is not None:
            parent()

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None
        super().close()


def _cell_extras(result: CellResult) -> dict[str, Any]:
    """A cell's extras: its status and count always; images, the error's name and notes when there are any."""
    extras: dict[str, Any] = {"status": result.status, "execution_count": result.execution_count}
    if result.images:
        extras["images"] = result.images
    if result.error_name:
        extras["error"] = result.error_name
    if result.restarted:
        extras["restarted"] = True
    if result.notes:
        extras["notes"] = result.notes
    return extras
