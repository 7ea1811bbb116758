"""Log lines without the user's paths: folder names under a selection carry patient names and IDs.

The app never logs a source path on purpose, but an unexpected error does: an ``OSError`` names
its file (``[Errno 13] Permission denied: '/data/SMITH^JOHN/DEMO861391/1.dcm'``), and a traceback
quotes messages like that. :class:`ScrubbingFormatter` formats a record as usual — message,
traceback, stack — and then replaces every absolute path that is not part of the installation
(this package, the standard library, site-packages, the Python prefix) with ``<path:KEY>``, a
keyed hash of the path under this installation's secret (``core.privacy``): the same file gives
the same token, so a log still shows that two lines concern one file, and nobody can read back
which. Paths of the installation stay, so a traceback still says where the code failed.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import sysconfig
from pathlib import Path

#: A quoted absolute path (spaces allowed inside the quotes), POSIX or Windows.
_QUOTED = re.compile(r"""(?P<q>['"])(?P<path>(?:/|[A-Za-z]:[\\/]|\\\\)[^'"\n]*)(?P=q)""")
#: An unquoted absolute path: a token starting with "/" (or a drive), plus any following
#: space-separated pieces that still contain a separator ("/data/SMITH JOHN/1.dcm").
_BARE = re.compile(r"""(?<![\w.:/\\<])(?:/|[A-Za-z]:[\\/])[^\s'"<>]*(?:\ [^\s'"<>]*[\\/][^\s'"<>]*)*""")


def _installation() -> tuple[str, ...]:
    """Folders whose paths are the program's own, never the user's data."""
    import desktop_client

    roots = {str(Path(desktop_client.__file__).resolve().parent), sys.prefix, sys.base_prefix,
             sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with_key = sysconfig.get_paths().get(key)
        if with_key:
            roots.add(with_key)
    # "/" or a drive root as a prefix would let everything through.
    return tuple(sorted((r.rstrip("/\\") + os.sep for r in roots if len(r.strip("/\\")) > 2),
                        key=len, reverse=True))


class ScrubbingFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose output (message, traceback, stack) names no user path."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self._keep = _installation()

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))

    def scrub(self, text: str) -> str:
        """``text`` with every absolute path outside the installation replaced (see module doc)."""
        text = _QUOTED.sub(lambda m: m["q"] + self._token(m["path"]) + m["q"], text)
        return _BARE.sub(lambda m: self._token(m[0]), text)

    def _token(self, path: str) -> str:
        if path.startswith(self._keep) or path.rstrip("/\\") + os.sep in self._keep:
            return path
        if path.startswith("<path"):
            return path
        try:
            from desktop_client.core.privacy import keyed_hash

            return f"<path:{keyed_hash('log-path', path)[:12]}>"
        except Exception:  # noqa: BLE001 - no secret (a read-only home): the path still goes
            return "<path>"
