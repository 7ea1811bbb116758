"""The subset of ``java.text.MessageFormat`` DicomEdit's ``format`` relies on (§9.1, §17.3).

All arguments reach ``format`` as strings, so only plain ``{n}`` placeholders can succeed: a
``{n,number}``/``{n,date}`` element given a string fails in Java too and fails here. Quoting
follows MessageFormat: ``''`` is a literal apostrophe and a single ``'`` quotes everything up to
the next one (so ``"O'Brien {0}"`` loses the quote and the substitution, as in the reference).
A placeholder without a matching argument is printed back as ``{n}``.
"""

from __future__ import annotations

from desktop_client.dicomedit.errors import ScriptRuntimeError


def format_message(pattern: str, args: list[str]) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    in_quote = False
    while i < n:
        ch = pattern[i]
        if ch == "'":
            if i + 1 < n and pattern[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            in_quote = not in_quote
            i += 1
            continue
        if in_quote or ch != "{":
            out.append(ch)  # quoted text, and a stray '}', are literal in MessageFormat
            i += 1
            continue
        end = pattern.find("}", i)
        if end < 0:
            raise ScriptRuntimeError(f"Error executing function format: Unmatched braces in the "
                                     f"pattern '{pattern}'")
        body = pattern[i + 1:end]
        index_text, _, style = body.partition(",")
        index_text = index_text.strip()
        if not index_text.isdigit():
            raise ScriptRuntimeError(f"Error executing function format: can't parse argument "
                                     f"number '{index_text}' in '{pattern}'")
        index = int(index_text)
        if style.strip():
            kind = style.split(",")[0].strip()
            if index < len(args) and kind in ("number", "date", "time", "choice"):
                raise ScriptRuntimeError(f"Error executing function format: Cannot format given "
                                         f"Object as a {'Number' if kind != 'date' else 'Date'}")
            if kind not in ("number", "date", "time", "choice"):
                raise ScriptRuntimeError(f"Error executing function format: unknown format type "
                                         f"'{kind}'")
        out.append(args[index] if index < len(args) else "{" + index_text + "}")
        i = end + 1
    return "".join(out)
