"""The architecture rules of docs/architecture.md, checked on the code:

- imports run one way, web → service → retrieval → indexer (eval, benchmarks, tools on top);
- no project import hides inside a function;
- the import graph in docs/architecture.md is the one the code has now;
- only ``indexer/settings.py`` reads the environment (besides the model libraries' offline switches).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tools.import_graph import (
    END_MARKER,
    LAYERS,
    ROOT,
    START_MARKER,
    Import,
    current_section,
    function_imports,
    graph_section,
    main,
    project_files,
    replace_section,
    scan,
    upward_imports,
)

DOCS = ROOT / "docs" / "architecture.md"
OFFLINE_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
SETTINGS_MODULE = "indexer/settings.py"


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return scan(ROOT)


def listing(found: list[Import]) -> str:
    return "\n".join(f"{i.where()}: {i.source} imports {i.target}" for i in found)


def test_no_import_runs_against_the_layer_order(imports: list[Import]):
    assert upward_imports(imports) == [], "\n" + listing(upward_imports(imports))


def test_no_project_import_is_made_inside_a_function(imports: list[Import]):
    assert function_imports(imports) == [], "\n" + listing(function_imports(imports))


def test_the_scan_sees_the_known_arrows(imports: list[Import]):
    """A scan that found nothing would pass the two checks above; these imports are known to exist."""
    arrows = {(i.source, i.target) for i in imports}
    assert {("retrieval.searcher", "indexer.store"), ("service.app", "retrieval.searcher"),
            ("web.app", "service.app"), ("indexer.lexical", "indexer.analysis")} <= arrows


def test_the_graph_in_the_docs_is_the_graph_of_the_code(imports: list[Import]):
    documented = current_section(DOCS.read_text(encoding="utf-8"))
    assert documented == graph_section(imports), (
        "docs/architecture.md is out of date: run `make architecture` and commit the result")


def environment_reads(path: Path) -> list[int]:
    """Lines of ``path`` that read or change the process environment, except the offline switches."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        uses = (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                and node.attr in {"environ", "getenv", "putenv", "unsetenv", "environb"})
        uses = uses or (isinstance(node, ast.ImportFrom) and node.module == "os"
                        and any(a.name in {"environ", "getenv", "putenv", "environb"} for a in node.names))
        if uses and not any(switch in lines[node.lineno - 1] for switch in OFFLINE_SWITCHES):
            found.append(node.lineno)
    return sorted(set(found))


def test_only_the_settings_module_reads_the_environment():
    packages = [p for p in LAYERS if p != "tools"]
    offenders = [f"{path.relative_to(ROOT).as_posix()}:{line}"
                 for _, path in project_files(ROOT, packages)
                 if path.relative_to(ROOT).as_posix() != SETTINGS_MODULE
                 for line in environment_reads(path)]
    assert offenders == [], "read PEERQA_ settings through indexer.settings instead:\n" + "\n".join(offenders)


# --- the tool itself, on a small made-up project ---------------------------------------------------

def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def toy_project(tmp_path: Path) -> Path:
    write(tmp_path, "indexer/__init__.py", "")
    write(tmp_path, "indexer/analysis.py", "import re\n")
    write(tmp_path, "indexer/store.py", "from . import analysis\nfrom .analysis import re\n")
    write(tmp_path, "retrieval/__init__.py", "from retrieval.search import find\n")
    write(tmp_path, "retrieval/search.py",
          "import indexer.store as store\nfrom indexer import analysis, store as s\n"
          "def find():\n    from service.app import api\n    return api\n")
    write(tmp_path, "service/__init__.py", "")
    write(tmp_path, "service/app.py", "from ..retrieval import search\nclass Api:\n    from web import pages\n")
    write(tmp_path, "web/__init__.py", "")
    write(tmp_path, "web/pages.py", "from service import app\n")
    write(tmp_path, "eval/__init__.py", "")
    write(tmp_path, "eval/run.py", "from web.pages import *\nfrom benchmarks.speed import go\n")
    write(tmp_path, "benchmarks/speed.py", "import eval.run\nimport numpy\n")
    return tmp_path


def test_the_tool_finds_every_kind_of_project_import(toy_project: Path):
    found = {(i.source, i.target, i.line, i.in_function) for i in scan(toy_project)}
    assert found == {
        ("indexer.store", "indexer.analysis", 1, False),  # from . import analysis
        ("indexer.store", "indexer.analysis", 2, False),  # from .analysis import re
        ("retrieval", "retrieval.search", 1, False),
        ("retrieval.search", "indexer.store", 1, False),  # import … as …
        ("retrieval.search", "indexer.analysis", 2, False),  # from package import submodules
        ("retrieval.search", "indexer.store", 2, False),
        ("retrieval.search", "service.app", 4, True),  # inside a function
        ("service.app", "retrieval.search", 1, False),  # two dots: from the parent package
        ("service.app", "web.pages", 3, False),  # a class body runs at import: module level
        ("web.pages", "service.app", 1, False),
        ("eval.run", "web.pages", 1, False),
        ("eval.run", "benchmarks.speed", 2, False),
        ("benchmarks.speed", "eval.run", 1, False),
    }


def test_the_tool_flags_upward_and_function_imports(toy_project: Path, capsys: pytest.CaptureFixture[str]):
    imports = scan(toy_project)
    assert sorted(i.where() for i in upward_imports(imports)) == [
        "eval/run.py:2", "retrieval/search.py:4", "service/app.py:3"]
    assert [i.where() for i in function_imports(imports)] == ["retrieval/search.py:4"]
    assert main(["--root", str(toy_project), "--check"]) == 1
    printed = capsys.readouterr().out
    assert "retrieval/search.py:4: retrieval.search imports service.app (retrieval → service)" in printed
    assert "service -.->|1 upward| web" in printed and "web -->|1| service" in printed

    (toy_project / "retrieval" / "search.py").write_text("import indexer.store\n", encoding="utf-8")
    (toy_project / "service" / "app.py").write_text("from retrieval import search\n", encoding="utf-8")
    (toy_project / "eval" / "run.py").write_text("from web.pages import *\n", encoding="utf-8")
    assert main(["--root", str(toy_project), "--check"]) == 0


def test_the_tool_rewrites_only_the_marked_section(toy_project: Path, tmp_path: Path):
    doc = tmp_path / "architecture.md"
    doc.write_text(f"# Title\n\nprose\n\n{START_MARKER}\nstale graph\n{END_MARKER}\n\nmore prose\n", encoding="utf-8")
    assert main(["--root", str(toy_project), "--write", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nprose\n\n" + START_MARKER + "\n### Packages")
    assert text.endswith(END_MARKER + "\n\nmore prose\n")
    assert current_section(text) == graph_section(scan(toy_project))
    assert replace_section(text, current_section(text)) == text  # writing again changes nothing

    doc.write_text("no markers\n", encoding="utf-8")
    assert main(["--root", str(toy_project), "--write", str(doc)]) == 2
    assert doc.read_text(encoding="utf-8") == "no markers\n"
