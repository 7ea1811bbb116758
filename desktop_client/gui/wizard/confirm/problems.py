"""The one line under the form: the first thing that stops the upload, or the remarks."""

from __future__ import annotations

from desktop_client.gui.widgets import MessageBar

LOADING = "Loading…"


class ProblemsBanner(MessageBar):
    """Shows ``plan.rules``' first problem (with how many more), else the non-blocking notes."""

    def show_state(self, problems: list[str], notes: str) -> None:
        if problems and problems != [LOADING]:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.error(problems[0] + more)
        elif not problems and notes:
            self.info(notes)
        else:
            self.clear()
