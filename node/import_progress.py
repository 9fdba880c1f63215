"""How far an import (`meter import`, `dso import`) has read its file, shown on stderr."""

from __future__ import annotations

import os
import time

import click


class ImportProgress:
    """How far an import has read its file, on stderr: one line rewritten on a terminal (at most
    twice a second), elsewhere a line every ten seconds, so that logs and tests stay quiet."""

    def __init__(self, name: str, total: int, tty: bool, clock, write):
        self.name, self.total, self.tty = name, total, tty
        self.every = 0.5 if tty else 10.0
        self._clock, self._write = clock, write
        self.started = self._last = clock()

    def __call__(self, done: int) -> None:
        now = self._clock()
        if now - self._last >= self.every:
            self._last = now
            self._show(done, now)

    def finish(self, done: int) -> None:
        """The last figure, on a terminal only: elsewhere the summary says it."""
        if self.tty:
            self._show(done, self._clock())
            self._write("\n")

    def _show(self, done: int, now: float) -> None:
        percent = 100 * done // self.total if self.total else 100
        line = (f"importing {self.name}: {percent}% ({done / 2**20:.1f} of {self.total / 2**20:.1f} MiB)"
                f" in {int(now - self.started)} s")
        self._write(f"\r{line}" if self.tty else f"{line}\n")

    @classmethod
    def on_stderr(cls, file: str) -> "ImportProgress":
        """The progress of importing `file`, on stderr; a file that cannot be read is a ClickException."""
        try:
            size = os.path.getsize(file)
        except OSError as error:
            raise click.ClickException(f"cannot read {file}: {error.strerror}") from None
        stderr = click.get_text_stream("stderr")
        return cls(os.path.basename(file), size, stderr.isatty(), time.monotonic,
                   lambda text: click.echo(text, err=True, nl=False))
