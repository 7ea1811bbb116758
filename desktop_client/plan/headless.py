"""Planning without a screen: labels from a scheme or a CSV, decisions from options (no Qt).

The CLI's ``upload`` turns its options into the same ``SessionPlan``s and review decisions the
GUI's wizard produces, with the same rules (``desktop_client.labels`` schemes, the review model's
template union), so ``plan.specs.build_specs`` treats both alike. Errors are ``ValueError`` with
one sentence; the CLI shows them as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from desktop_client.core.geometry import Rect
from desktop_client.labels import (LabelPool, LabelRow, SessionScheme, SubjectScheme,
                                   assign_session_labels, assign_subject_labels, import_csv,
                                   label_problem)
from desktop_client.plan.draft import SessionPlan
from desktop_client.grouping import INCLUDE_MODES, INCLUDE_TEXT_REMOVED, inspect_scan
from desktop_client.plan.review import ReviewModel, ScanReviewChoice
from desktop_client.scanning.model import Session
from desktop_client.templates import Template

EXCLUDED_ON_COMMAND_LINE = "excluded on the command line"


def _label(value: str, what: str) -> str:
    problem = label_problem(value)
    if problem:
        raise ValueError(f"{what} {value!r}: {problem}")
    return value


def plans_from_csv(sessions: list[Session], path: str | Path, *, tracer: str = "",
                   variables: dict[str, str] | None = None) -> list[SessionPlan]:
    """One plan per session ticked in the relabeling CSV (the GUI's bulk table export).

    The CSV's script variable columns become each session's variables, over the ``variables``
    given for all sessions.
    """
    table = [LabelRow.from_session(s, tracer=tracer) for s in sessions]
    try:
        imported = import_csv(Path(path), table)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if imported.errors:
        raise ValueError(f"{path}: " + " ".join(imported.errors[:5]))
    rows = {r.study_uid: r for r in imported.rows}
    plans = []
    for session in sessions:
        uid = session.study_instance_uid
        if uid in imported.unchecked or uid not in rows:
            continue
        row = rows[uid]
        plans.append(SessionPlan(session=session, subject=row.subject, label=row.session,
                                 tracer=row.tracer, variables={**(variables or {}), **row.variables}))
    if not plans:
        raise ValueError(f"no study in {path} matches the scanned sessions")
    return plans


def plans_from_schemes(sessions: list[Session], *, subject: str | None = None,
                       subject_scheme: str = "auto", session: str | None = None,
                       session_scheme: str = "auto", tracer: str = "",
                       variables: dict[str, str] | None = None,
                       existing_sessions: Iterable[str] = ()) -> list[SessionPlan]:
    """One plan per session, labelled as the GUI's bulk mode does.

    Automatic subjects once per patient; ``SUBJECT_MOD_n`` sessions unique among the project's
    archive, prearchive and this run.
    """
    if session and len(sessions) > 1:
        raise ValueError(f"--session names one session, but the paths hold {len(sessions)}; use "
                         "--session-scheme or --labels")
    uids = [s.study_instance_uid for s in sessions]
    if subject:
        subjects = dict.fromkeys(uids, _label(subject, "subject label"))
    else:
        subjects = assign_subject_labels(sessions, SubjectScheme.parse(subject_scheme))
    if session:
        labels = dict.fromkeys(uids, _label(session, "session label"))
    else:
        labels = assign_session_labels(sessions, SessionScheme.parse(session_scheme), subjects,
                                       LabelPool(set(existing_sessions)),
                                       tracers=dict.fromkeys(uids, tracer) if tracer else None)
    plans = []
    for item in sessions:
        uid = item.study_instance_uid
        if not subjects[uid] or not labels[uid]:
            raise ValueError(f"study {item.study_description or uid} has no value for the chosen "
                             "labeling scheme; give --subject/--session or a --labels CSV")
        plans.append(SessionPlan(session=item, subject=subjects[uid], label=labels[uid],
                                 tracer=tracer, variables=dict(variables or {})))
    return plans


def decisions_from_options(sessions: list[Session], *, templates: Iterable[Template] = (),
                           rectangles: Iterable[tuple[str, Rect]] = (),
                           excluded: Iterable[str] = (),
                           include_free_text: Iterable[tuple[str, str]] = ()
                           ) -> dict[str, ScanReviewChoice]:
    """Review decisions from saved templates (matched per scan), ``(series, rect)`` pairs,
    exclusions and ``(series, mode)`` inclusions of scans with free text.

    The rules are the review model's: templates add their boxes as a union; an excluded series
    gets nothing else; only supported images can be redacted; a scan with free text is left out
    unless it is included deliberately (issue 14), which records what it holds.
    """
    model = ReviewModel(sessions)
    templates = list(templates)
    if templates:
        model.apply_templates(list(model.refs), templates)
    for uid, rect in rectangles:
        if uid not in model.refs:
            raise ValueError(f"--rect names series {uid}, which is not in the scanned paths")
        if not model.is_supported(uid):
            raise ValueError(f"--rect names series {uid}, which cannot be redacted "
                             "(see `xnat-upload groups` for the reason)")
        choice = model.choices[uid]
        model.set_rectangles(uid, [*choice.rectangles, rect], confirmed=True)
    excluded = list(excluded)
    unknown = sorted(set(excluded) - set(model.refs))
    if unknown:
        raise ValueError(f"--exclude names series not in the scanned paths: {', '.join(unknown)}")
    model.exclude(excluded, EXCLUDED_ON_COMMAND_LINE)
    for uid, mode in include_free_text:
        if uid not in model.refs or not model.is_free_text(uid):
            raise ValueError(f"--include-free-text names series {uid}, which is not a scan with "
                             "free text in the scanned paths (see `xnat-upload groups`)")
        if mode not in INCLUDE_MODES:
            raise ValueError(f"--include-free-text {uid}: the mode must be "
                             f"{' or '.join(INCLUDE_MODES)}")
        if mode == INCLUDE_TEXT_REMOVED and not model.can_remove_text(uid):
            raise ValueError(f"series {uid} is an encapsulated document: its text cannot be removed "
                             "by a rule; include it as-is or leave it out")
        model.include_free_text([uid], mode, {uid: inspect_scan(model.scan(uid))})
    return {uid: c for uid, c in model.choices.items() if c.excluded or c.rectangles or c.decision}
