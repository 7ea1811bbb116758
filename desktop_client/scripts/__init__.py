"""Anonymization scripts for the destinations that have no server of their own to apply them.

An XNAT server applies its site and project scripts itself. The local archive folder, a DICOM
C-STORE node and a DICOMweb STOW-RS service do not, so the uploader gives each of them the same
two *slots* XNAT has — a site script, then a project script — applied on this machine before
anything is written or sent. The site slot holds the shipped default (``basic-profile.das``: DICOM
PS3.15 Basic Application Level Confidentiality Profile with the Clean Structured Content Option,
as far as DicomEdit can express it) unless the user chose their own file or turned it off (the
GUI asks for a confirmation; the CLI needs ``--site-script none``).

This module is the one home of that policy: the GUI's Settings/Connect pages and the CLI's
``--site-script``/``--script`` resolve their choices here into the ordered script chain a
transfer records. It is also the home of :class:`ScriptSource`, the one record of a script (name
and text) everything above it passes around: slots, destinations, plans, transfer specs, jobs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from desktop_client.core.errors import UploaderError
from desktop_client.dicomedit import ScriptSyntaxError, compile_script

#: The site slot's three modes.
DEFAULT = "default"
OFF = "off"
FILE = "file"
SITE_MODES = (DEFAULT, FILE, OFF)

DEFAULT_SITE_NAME = "site: default (DICOM PS3.15 Basic Profile)"
DEFAULT_FILE_NAME = "basic-profile.das"

#: Shown wherever labels are chosen from DICOM values (issue 14 §1).
LABELS_VISIBLE_WARNING = ("Labels are not anonymized: the subject and session labels are visible "
                          "in the archive's folder names, in receipts and to everyone with access. "
                          "A label taken from the patient's name or ID puts it there.")


class ScriptChoiceError(UploaderError, ValueError):
    """A script slot that cannot be used, with a sentence the user can act on."""


@dataclass(frozen=True, slots=True)
class ScriptSource:
    """An anonymization script with where it came from (``site``, ``project``, or a file name)."""

    name: str
    text: str

    def to_json(self) -> dict[str, str]:
        """The on-disk form in plan files, transfer specs and the queue: ``{"name", "text"}``."""
        return {"name": self.name, "text": self.text}

    @classmethod
    def from_json(cls, data: object) -> "ScriptSource":
        """The record ``to_json`` wrote (other keys, such as a recorded checksum, are ignored);
        ValueError for anything else (a damaged file)."""
        name = data.get("name") if isinstance(data, Mapping) else None
        text = data.get("text") if isinstance(data, Mapping) else None
        if not isinstance(name, str) or not isinstance(text, str):
            raise ValueError("a script entry needs a text 'name' and 'text'")
        return cls(name, text)


def server_scripts(site: str | None, project: str | None) -> list[ScriptSource]:
    """An XNAT server's enabled scripts (``XnatClient.anonymization_scripts``) in the order and
    under the names the upload applies and records them: site, then project, each when set."""
    return [ScriptSource(name, text) for name, text in (("site", site), ("project", project)) if text]


def default_site_script() -> str:
    """The shipped default site script's text."""
    return resources.files(__package__).joinpath(DEFAULT_FILE_NAME).read_text(encoding="utf-8")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_script(path: str | Path, what: str = "script") -> str:
    """A script file's text, checked by the DicomEdit engine (ScriptChoiceError otherwise)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptChoiceError(f"cannot read the {what} {path}: {exc}; choose another file") from None
    try:
        compile_script(text)
    except ScriptSyntaxError as exc:
        raise ScriptChoiceError(f"the {what} {path} has an error at {exc}; fix it or choose "
                                "another file") from None
    return text


@dataclass(frozen=True, slots=True)
class ScriptSlots:
    """The two script slots of a destination other than XNAT.

    ``site``: ``default`` (the shipped profile), ``file`` (``site_file``) or ``off``;
    ``project_files``: scripts applied after the site script, in order.
    """

    site: str = DEFAULT
    site_file: str = ""
    project_files: tuple[str, ...] = ()

    def chain(self) -> list[ScriptSource]:
        """Every script to apply, site first (ScriptChoiceError if unusable)."""
        if self.site not in SITE_MODES:
            raise ScriptChoiceError(f"unknown site script choice {self.site!r}; use "
                                    f"{', '.join(SITE_MODES)}")
        out: list[ScriptSource] = []
        if self.site == DEFAULT:
            out.append(ScriptSource(DEFAULT_SITE_NAME, default_site_script()))
        elif self.site == FILE:
            if not self.site_file:
                raise ScriptChoiceError("no site script file is chosen; choose one, or use the default")
            out.append(ScriptSource(f"site: {Path(self.site_file).name}",
                                    read_script(self.site_file, "site script")))
        for path in self.project_files:
            out.append(ScriptSource(f"project: {Path(path).name}", read_script(path, "project script")))
        return out

    @property
    def anonymizes(self) -> bool:
        """False when nothing at all is applied: headers then go out as they are."""
        return self.site != OFF or bool(self.project_files)

    def describe(self) -> str:
        """One line for the Connect page and the CLI's dry run."""
        site = {DEFAULT: "default (DICOM PS3.15 Basic Profile)", OFF: "off",
                FILE: Path(self.site_file).name or "(no file)"}.get(self.site, self.site)
        projects = ", ".join(Path(p).name for p in self.project_files) or "none"
        return f"site script: {site}; project script: {projects}"


def copy_default_site_script(folder: Path) -> Path:
    """Write an editable copy of the default site script (0600) and return its path.

    An existing copy is never overwritten: the next free ``site-script-N.das`` name is used.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / "site-script.das"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"site-script-{n}.das"
    from desktop_client.core.privacy import private_write

    private_write(target, default_site_script().encode("utf-8"))
    return target


def text_removal_script(series_uids: list[str]) -> str:
    """The "send without its text" rule for chosen scans (structured reports, presentation
    states, key object notes, RT structure sets), as a DicomEdit script recorded with the transfer.

    It runs first in the chain, so it still sees the original Series Instance UIDs; objects of
    other series are not touched. Text, person-name, date and time content items are replaced
    (the report keeps its structure and coded values), text annotations, ROI names and
    descriptions emptied.
    """
    lines = ['version "6.3"',
             "// XNAT Desktop Uploader: text content removed from the scans the user chose",
             "// (Review: 'Send without the text'). Runs before the site and project scripts."]
    for uid in series_uids:
        lines.append(f'if ((0020,000E) = "{uid}") {{')
        lines.extend("    " + rule for rule in _TEXT_RULES)
        lines.append("}")
    return "\n".join(lines) + "\n"


TEXT_REMOVAL_NAME = "built-in: text content removed (chosen scans)"

_TEXT_RULES = (
    '*/(0040,A160) ?= "[text removed]"',
    '*/(0040,A123) ?= "ANONYMOUS"',
    '*/(0040,A075) ?= "ANONYMOUS"',
    '*/(0040,A121) ?= ""',
    '*/(0040,A122) ?= ""',
    '*/(0040,A120) ?= ""',
    '*/(0040,A032) ?= ""',
    '*/(0070,0006) ?= ""',
    '*/(3006,0026) ?= "ROI"',
    '*/(3006,0028) ?= ""',
    '*/(0020,4000) ?= ""',
)
