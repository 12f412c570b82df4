"""Work that runs in a forked process beside the notebooks: the bundle's tables and workbook are
written while the kernels run, instead of after them; the parent waits for it before it publishes.
"""
from __future__ import annotations

import multiprocessing
import traceback
from typing import Any, Callable

__all__ = ["Background"]


def _child(send, func: Callable[..., Any], args: tuple) -> None:
    try:
        func(*args)
        outcome = (True, None)
    except BaseException as exc:  # sent back whole, so the parent raises what an inline call would have raised
        exc.add_note("in the process writing the tables beside the notebooks:\n" + traceback.format_exc())
        outcome = (False, exc)
    try:
        send.send(outcome)
    except Exception:  # an error that cannot cross whole still reaches the parent, as its type, message and notes
        error = outcome[1]
        notes = "\n".join(getattr(error, "__notes__", []))
        send.send((False, RuntimeError(f"{type(error).__name__}: {error}" + (f"\n{notes}" if notes else ""))))
    finally:
        send.close()


class Background:
    """Run ``func(*args)`` in a forked child (inline where the system cannot fork); :meth:`wait` for it.

    The child starts with the parent's memory as it is (the plan's stages already loaded), so it
    computes nothing twice. An error in the child is raised by :meth:`wait` in the parent.

    >>> Background(print, "written").wait()  # doctest: +SKIP
    """

    def __init__(self, func: Callable[..., Any], *args: Any):
        self._process = self._error = None
        if "fork" not in multiprocessing.get_all_start_methods():
            try:
                func(*args)
            except Exception as exc:
                self._error = exc
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(send, func, args), daemon=True)
        try:
            self._process.start()
        except OSError:  # no fork to be had (out of memory or processes): the work is done here, as without fork
            self._process = None
            self._receive.close()
            try:
                func(*args)
            except Exception as exc:
                self._error = exc
        finally:
            send.close()

    def wait(self) -> None:
        """Wait for the work to end; raise its error, or a RuntimeError if the child died without a word."""
        if self._process is not None:
            try:
                done, error = self._receive.recv()
            except EOFError:  # killed (out of memory, a signal) before it could say anything
                done, error = False, None
            except Exception as exc:  # sent, but not to be rebuilt here (planlib's own errors always are)
                done, error = False, RuntimeError(
                    "the process writing the tables beside the notebooks failed, and its error could not be "
                    f"passed back whole ({type(exc).__name__}: {exc})")
            finally:
                self._process.join()
                self._receive.close()
            if not done:
                self._error = error or RuntimeError(
                    f"the process writing the tables beside the notebooks ended with exit code "
                    f"{self._process.exitcode} (killed, or out of memory)")
            self._process = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def cancel(self) -> None:
        """Stop the work if it still runs (a notebook failed, or the run was interrupted)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._receive.close()
            self._process = None
        self._error = None
