"""--where: every operator parses exactly and means what it says; booleans compare as booleans; a bad
filter is a one-line error naming it."""

from __future__ import annotations

import pytest

from assetgen.cli import main
from assetgen.errors import InputError
from assetgen.library import Library

LABELS = {
    "a": {"freckles": 0.4, "lipstick": True, "age": 30, "skin_tone": "monk_03", "note": "=x"},
    "b": {"freckles": 0.0, "lipstick": False, "age": 45, "skin_tone": "monk_05"},
    "c": {"freckles": True, "age": 30.5},
    "d": {"lipstick": "yes", "age": "old", "freckles": None},
}


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    root = tmp_path_factory.mktemp("where") / "lib"
    with Library.open(root) as lib:
        with lib.writing():
            sha = lib.put_blob(b"x")
            for name, labels in LABELS.items():
                lib.put_record(name, labels, {"identity": sha}, tags=["odd"] if name in "ac" else [],
                               kind="mesh" if name == "d" else "face", job_id="j1", job_index=ord(name))
    lib = Library.open(root, readonly=True)
    yield lib
    lib.close()


def names(lib, *where) -> str:
    return "".join(sorted(lib.record(i).name for i in lib.query(list(where))))


@pytest.mark.parametrize("where, expected", [
    # booleans: by truth; a number label is true when not 0; text and null labels are not booleans
    ("freckles=true", "ac"), ("freckles=false", "b"), ("freckles!=true", "bd"), ("freckles!=false", "acd"),
    ("freckles>true", ""), ("freckles>false", "ac"), ("freckles>=true", "ac"), ("freckles>=false", "abc"),
    ("freckles<true", "b"), ("freckles<false", ""), ("freckles<=false", "b"), ("freckles<=true", "abc"),
    ("lipstick=true", "a"), ("lipstick=false", "b"), ("lipstick!=true", "bcd"),
    # numbers
    ("age=30", "a"), ("age!=30", "bcd"), ("age>30", "bc"), ("age<31", "ac"), ("age>=30.5", "bc"),
    ("age<=30", "a"), ("age > 44", "b"), ("age=30.0", "a"),
    # text and null, by their JSON value
    ("skin_tone=monk_03", "a"), ("skin_tone=\"monk_03\"", "a"), ("skin_tone!=monk_03", "bcd"),
    ("age=old", "d"), ("lipstick=yes", "d"), ("freckles=null", "d"), ("note=\"=x\"", "a"),
    # catalogue columns
    ("name=b", "b"), ("name!=b", "acd"), ("kind=mesh", "d"), ("kind!=mesh", "abc"), ("tag=odd", "ac"),
    ("tag!=odd", "bd"), ("job=j1", "abcd"), ("job!=j1", ""), ("parent=null", "abcd"), ("parent!=null", ""),
])
def test_every_operator(lib, where, expected):
    assert names(lib, where) == expected


def test_filters_combine_and_ids_match_by_prefix(lib):
    assert names(lib, "age>=30", "freckles=true", "tag=odd") == "ac"
    a = lib.query(["name=a"])[0]
    assert lib.query([f"id={a[:6]}"]) == [a] and a not in lib.query([f"id!={a[:6]}"])


@pytest.mark.parametrize("where, message", [
    ("age=>30", "unknown operator '=>'"), ("age<>30", "unknown operator '<>'"), ("age==30", "unknown operator '=='"),
    ("age!30", "unknown operator '!'"), ("age=<30", "unknown operator '=<'"), ("age = =30", "unknown operator '= ='"),
    ("age=!x", "unknown operator '=!'"),
    ("nonsense", "is not a filter"), ("=3", "is not a filter"), ("age~3", "is not a filter"), ("", "is not a filter"),
    ("2age=3", "is not a filter"), ("age=", "no value after '='"),
    ("skin_tone>monk_03", "> compares numbers or booleans, not 'monk_03'"), ("age<null", "< compares numbers"),
    ("age>NaN", "not a finite number"), ("age<1e999", "not a finite number"),
    ("name>b", "name takes only = or !="), ("tag<=x", "tag takes only = or !="), ("id=xyz", "id is 1-16 hex digits"),
])
def test_a_bad_filter_is_a_one_line_error_naming_it(lib, where, message):
    with pytest.raises(InputError) as err:
        lib.query([where])
    text = str(err.value)
    assert message in text and repr(where) in text and "\n" not in text


def test_cli_reports_a_bad_filter_and_exits_2(lib, capsys):
    assert main(["library", "ls", "--library", str(lib.root), "--where", "freckles=>true"]) == 2
    err = capsys.readouterr().err
    assert "unknown operator '=>'" in err and "Traceback" not in err
    assert main(["library", "ls", "--library", str(lib.root), "--where", "freckles>false"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[1] for line in out) == ["a", "c"]
