"""DE6 pre-processing, lexing and parsing rules (dicomedit.md §1.2, §2, §3, §13.1)."""

from __future__ import annotations

import pytest

from desktop_client.dicomedit import ScriptSyntaxError, compile_script, detect_dialect
from desktop_client.dicomedit.de6_parser import comment_start, parse, parse_tagpath, preprocess

from tests.dicomedit.helpers import conforms, de6, run


def strip_comments(line: str) -> str:
    cut = comment_start(line)
    return line if cut is None else line[:cut]


@conforms("de6.syntax")
@pytest.mark.parametrize("line, expected", [  # the reference's TestRemoveEndLineComments pairs
    ("(0040,0555),   // AcquisitionContextSequence", "(0040,0555),   "),
    ("    (0040,0555),   // AcquisitionContextSequence", "    (0040,0555),   "),
    ("foo", "foo"),
    ("foo // comment.", "foo "),
    ("// comment.", ""),
    ("// comment. // comment", ""),
    ("", ""),
    ("foo[(0019,{fubar}XX)/*]", "foo[(0019,{fubar}XX)/*]"),
    ('foo//"snafu"', "foo"),
    ("https://foo.com/bar/nuts", "https://foo.com/bar/nuts"),
    ("https://foo.com/bar/nuts//comment", "https://foo.com/bar/nuts"),
    ("//https://foo.com/bar/nuts//comment", ""),
    ('(0010,1000) := getURL["https://run.mocky.io/v3/bf4da7a0"]',
     '(0010,1000) := getURL["https://run.mocky.io/v3/bf4da7a0"]'),
    ('(0008,0100) := "//not a comment"', '(0008,0100) := "//not a comment"'),
    ('(0008,0102) := "https://stillnotacomment"', '(0008,0102) := "https://stillnotacomment"'),
    ('(0008,0103) := "/NOT/A/COMMENT//"', '(0008,0103) := "/NOT/A/COMMENT//"'),
    ('(0008,0104) := "http//nope"', '(0008,0104) := "http//nope"'),
    ('x "//c in string" // c s"c"', 'x "//c in string" '),
    ('url://foo/bar "//c in string" "https://url/in/string" // file://url/snafu // c in c',
     'url://foo/bar "//c in string" "https://url/in/string" '),
])
def test_comment_removal(line: str, expected: str) -> None:
    assert strip_comments(line) == expected


@conforms("de6.syntax")
def test_line_continuation_inside_a_tag_and_string() -> None:
    text, _ = preprocess('(0010,00\\\n10) := "ab\\\ncd"\n')
    assert text == '(0010,0010) := "abcd"\n'
    outcome, ds = run(de6('(0010,00\\', '10) := "ab\\', 'cd"'))
    assert outcome.ok and ds.PatientName == "abcd"


@conforms("de6.syntax")
def test_reference_continuation_vector() -> None:
    lines = ["line1a", "line2a\\", "line2b", "line3a\\", "line3b\\", "line3c", "\\", "line4b", "\\",
             "line5b", "\\", "\\", "line6", "\\"]
    assert preprocess("\n".join(lines))[0].split("\n") == [
        "line1a", "line2aline2b", "line3aline3bline3c", "line4b", "line5b", "line6", ""]


@conforms("de6.syntax")
def test_lone_backslash_line_joins() -> None:
    outcome, ds = run(de6("(0010,0010) := \\", "\\", '"joined"'))
    assert outcome.ok and ds.PatientName == "joined"


@conforms("de6.syntax")
def test_comment_on_last_line_without_newline() -> None:
    script = compile_script('version "6.6"\n(0010,0010) := "a" // trailing')
    assert len(script.statements) == 2


@conforms("de6.syntax")
@pytest.mark.parametrize("bad", [
    "( 0010,0010) := \"a\"",
    "(0010,0010 ) := \"a\"",
    "(50XX,XXXX) := \"a\"",
    "(XXXX,0010) := \"a\"",
    "(0019,10F0) := \"a\"",
    "(0009,0010) := \"a\"",
    "(0008,{CREATOR}10) := \"a\"",
    "(0019,{1CREATOR}10) := \"a\"",
    "-(001#,0010)",
    "-(001@,{STENTOR}10)",
    "-(001x,0020)",
    "x := \"a\"",
    "if := \"a\"",
    "version := \"6.1\"",
    "v := {\"a\" \"b\"}",
    "v := concatenate[\"a\"",
    "(0010,0010) := \"bad \\d escape\"",
    "(0010,0010) := \"no \\\" quote\"",
    "(0010,0010) := \"unterminated",
    "(0010,0010) = \"a\" ? describe v \"x\"",
    "(0010,0010) = \"a\" ? removeAllPrivateTags",
    "(0010,0010) := 007",
    "echo \"a\" }",
    "else { }",
])
def test_syntax_errors(bad: str) -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        compile_script(de6(bad))
    assert info.value.line == 2
    assert info.value.column >= 1


@conforms("de6.syntax")
def test_error_position_points_at_the_original_line() -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        compile_script('version "6.6"\n// comment\n(0010,0010) := \\\n  "a"\n(0010,0010 ) := "b"\n')
    assert info.value.line == 5


@conforms("de6.syntax")
@pytest.mark.parametrize("good", [
    "(0010, 0010) := \"a\"",
    "(0010 ,0010) := \"a\"",
    "(50X@,XXXX) := \"a\"",
    "-(XXX#,{ACME}XX)",
    "(0019,{SIEMENS MR HEADER}10) := \"a\"",
    "(0019,{A-b_c.d:e 1}10) := \"a\"",
    "(0008,1140)[0]/(0008,1155) := \"1\"",
    "-(0008,1140)[%]/*/(0008,1155)",
    "-*/(0008,0100)",
    "-+/(0010,0010)",
    "-./(0010,0010)",
    "-(5200,9230)/(0020,9111)/(0018,9074)",
    "-(0021,{PVT ID}01)[1]/(0010,0010)",
    "-(0008 , 1024) [%] / (00ab , {Foo}10) / (0010 , 0010)",
    "-(cdef,{CTP}AB)",
    "-(xXx0,XXXX)",
    "-(0008,1024)[%] / (0010,0010) / *",
    "ifx := \"a\"",
    "v := -5",
    "v := 3.50",
    "v := {}",
    "v := {\n\"a\",\n\"b\"\n}",
    "v := {{\"a\", 1}, (0010,0010), f[\"x\"], w}",
    "(0010,0010) = \"a\" ? (0010,0010) := \"b\" : -(0010,0020)",
    "isPresent[(0010,0010)] ? echo \"yes\"",
    "describe v \"A prompt\"",
    "describe v hidden",
    "describe v const",
    "describe v immutable",
    "export v \"baz:/my/export/path\"",
    "removeAllPrivateTags",
    "if ((0010,0010) = \"foo\"){(0010,0010) := bar}",
    "if ((0010,0010) = \"foo\")\n{\n(0010,0010) := bar\n}",
    "if ((0010,0010) = \"foo\"){ }",
    "if ((0010,0010) = \"foo\"){ \n }\nelseif ((0010,0010) = \"x\") {\n}\nelse\n{\necho \"e\"\n}",
    "if (true[]) { if (false[]) { echo \"a\" } }",
])
def test_valid_syntax(good: str) -> None:
    compile_script(de6(good))


@conforms("de6.syntax")
def test_statements_need_no_separator() -> None:
    statements = parse('a := (0010,0010)a = "x" ? (0010,0020) := "y"\n')
    assert len(statements) == 2


@conforms("value.strings")
def test_string_escapes_are_kept_except_double_backslash() -> None:
    outcome, ds = run(de6('(0010,0010) := "a\\nb\\\\c"', "echo (0010,0010)"))
    assert outcome.ok
    assert outcome.messages == ["a\\nb\\c"]  # stored as the values "a", "nb", "c"


@conforms("value.strings")
def test_list_strings_keep_doubled_backslashes() -> None:
    outcome, _ = run(de6('v := {"a\\\\b"}', "echo v", 'w := "a\\\\b"', "echo w"))
    assert outcome.messages == ["[a\\\\b]", "a\\b"]


@conforms("path.wildcards")
def test_tag_path_strings_parse() -> None:
    path = parse_tagpath("+/(0018,9151)")
    assert not path.singular
    assert parse_tagpath("(0008,1140)[1]/(0008,1155)").singular
    with pytest.raises(ValueError):
        parse_tagpath("(0019,10F0)")


@conforms("de4.dialect")
@pytest.mark.parametrize("text, dialect", [
    ('version "6.1"\n(0010,0010) := "a"\n', "DE6"),
    ('// comment\nversion "6.3"\r\n', "DE6"),
    ('(0010,0010) := "a"\n', "DE4"),
    (' version "6.1"\n', "DE4"),
    ('version "x"\n', "DE4"),
    ('version "9.9"\n', "DE6"),
])
def test_dialect_detection(text: str, dialect: str) -> None:
    assert detect_dialect(text) == dialect
