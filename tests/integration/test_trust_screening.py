"""Screening lists in each published format, fuzzy matching, and fetching over loopback HTTP."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.trust.screening import Screener, ScreeningError, detect_format, fetch_list, load_list, normalize_name
from tests.paths import FIXTURES

LISTS = FIXTURES / "trust"
OPENSANCTIONS = LISTS / "opensanctions" / "targets.simple.csv"
SDN = LISTS / "ofac" / "sdn.csv"
CSL = LISTS / "csl" / "consolidated.csv"


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener([load_list(OPENSANCTIONS), load_list(SDN), load_list(CSL)])


def test_opensanctions_file_is_read_with_aliases_and_emails() -> None:
    lst = load_list(OPENSANCTIONS)
    assert lst.format == "opensanctions" and "OpenSanctions" in lst.name
    by_id = {e.entry_id: e for e in lst.entries}
    assert "NK-test-005" not in by_id  # a vessel
    assert by_id["NK-test-001"].aliases == ('ООО "Волга Прецизионная Оптика"', "Volga Precision Optika")
    assert by_id["NK-test-001"].emails == ("procurement@volgaoptics.ru",)
    assert by_id["NK-test-002"].schema == "Person" and by_id["NK-test-002"].countries == ("ru",)


def test_ofac_sdn_is_read_with_alt_names_beside_it_and_nulls_dropped() -> None:
    lst = load_list(SDN)
    assert lst.format == "ofac_sdn"
    by_id = {e.entry_id: e for e in lst.entries}
    assert set(by_id) == {"36", "7001", "7002"}  # the vessel and the \x1a row are skipped
    assert by_id["7002"].aliases == ("PARS NEGAR INDUSTRIES",)
    assert by_id["7002"].emails == ("info@parsnegar.ir",)
    assert by_id["36"].programs == "CUBA" and by_id["36"].schema == "entity"


def test_ofac_sdn_without_alt_file_still_loads(tmp_path: Path) -> None:
    shutil.copy(SDN, tmp_path / "sdn.csv")
    lst = load_list(tmp_path / "sdn.csv")
    assert all(e.aliases == () for e in lst.entries) and len(lst.entries) == 3


def test_consolidated_screening_list_is_read_with_sources() -> None:
    lst = load_list(CSL)
    assert lst.format == "csl"
    first, second = lst.entries
    assert first.source.startswith("Entity List") and "NLM Microelectronics" in first.aliases
    assert second.emails == ("jmendoza@mendoza-export.pa",)


def test_unknown_formats_are_refused(tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(ScreeningError):
        load_list(odd)
    with pytest.raises(ScreeningError, match="alias file"):
        load_list(LISTS / "ofac" / "alt.csv")
    assert detect_format((LISTS / "ofac" / "alt.csv").read_text()) == "ofac_alt"


def test_names_fold_case_punctuation_legal_forms_and_scripts() -> None:
    assert normalize_name("Golden Crescent General Trading F.Z.E.") == normalize_name(
        "golden crescent trading general"
    )
    assert normalize_name("OOO «Ромашка»") == normalize_name("Romashka LLC")
    assert normalize_name("深圳华星电子科技有限公司") == normalize_name("深圳华星电子科技")


@pytest.mark.parametrize(
    ("query", "entry"),
    [
        ("Petrov Ivan Sergeevich", "Ivan Sergeyevich Petrov"),  # word order, transliteration
        ("Иван Петров", "Ivan Sergeyevich Petrov"),  # Cyrillic alias
        ("ivan petrof", "Ivan Sergeyevich Petrov"),
        ("OOO Volga Precision Optika", "Volga Precision Optics LLC"),
        ("Hosein Karimi", "KARIMI, Hossein"),  # OFAC "LAST, First"
        ("Pars Negar Industries Co., Ltd.", "PARS NEGAR INDUSTRIAL GROUP"),  # via alt.csv
        ("Golden Crescent General Trading LLC", "Golden Crescent General Trading FZE"),
        ("Northern Light Micro Electronics Limited", "Northern Lights Microelectronics Ltd."),
        ("Jorge Mendoza", "Jorge Alberto Mendoza Rivera"),
        ("Rosoboroneksport", "Rosoboronexport"),
    ],
)
def test_listed_names_match_despite_noise(screener: Screener, query: str, entry: str) -> None:
    matches = screener.screen([query], [], [])
    assert [m.entry_name for m in matches][:1] == [entry]
    assert matches[0].score >= 88 and query in matches[0].matched_on


@pytest.mark.parametrize(
    "query",
    [
        "Ali",
        "Ali Hassan Trading",
        "Global Trading",
        "Volga Trading",
        "Stefan Braun",
        "Lichtwerk GmbH",
        "Ocean Star",
    ],
)
def test_single_words_generic_words_and_strangers_do_not_match(screener: Screener, query: str) -> None:
    assert screener.screen([query], [], []) == []


def test_emails_and_domains_match_list_entries(screener: Screener) -> None:
    by_email = screener.screen([], ["INFO@parsnegar.ir"], [])
    assert [(m.entry_name, m.matched_on) for m in by_email] == [
        ("PARS NEGAR INDUSTRIAL GROUP", "email info@parsnegar.ir")
    ]
    by_domain = screener.screen([], [], ["sales.mendoza-export.pa"])
    assert by_domain[0].entry_name == "Jorge Alberto Mendoza Rivera" and by_domain[0].matched_on.startswith(
        "domain"
    )
    assert screener.screen([], [], ["rosoboronexport.ru"])[0].entry_name == "Rosoboronexport"
    assert screener.screen([], ["someone@gmail.com"], ["gmail.com"]) == []


def test_match_names_its_list_and_a_threshold_is_honoured() -> None:
    strict = Screener([load_list(CSL)], threshold=99)
    assert strict.screen(["Northern Light Micro Electronics Limited"], [], [])[0].list_name.startswith(
        "consolidated.csv (Consolidated Screening List) / Entity List"
    )
    assert strict.screen(["Jorge Alberto Mendosa Rivera"], [], []) == []
    assert Screener([load_list(CSL)], threshold=88).screen(["Jorge Alberto Mendosa Rivera"], [], [])


@pytest.fixture()
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_list_downloads_over_http_and_loads(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_root
    shutil.copy(OPENSANCTIONS, root / "targets.simple.csv")
    dest = tmp_path / "data"
    path = fetch_list(f"{base}/targets.simple.csv", dest, timeout=5)
    assert path == dest / "targets.simple.csv"
    assert load_list(path).format == "opensanctions"
    assert [p.name for p in dest.iterdir()] == ["targets.simple.csv"]


def test_fetch_list_keeps_the_old_file_on_errors(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_root
    (root / "targets.simple.csv").write_text("<html>maintenance</html>", encoding="utf-8")
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "targets.simple.csv").write_bytes(OPENSANCTIONS.read_bytes())
    with pytest.raises(ScreeningError):
        fetch_list(f"{base}/targets.simple.csv", dest, timeout=5)
    with pytest.raises(ScreeningError):
        fetch_list(f"{base}/missing.csv", dest, timeout=5)
    with pytest.raises(ScreeningError, match="http"):
        fetch_list("file:///etc/passwd", dest)
    assert (dest / "targets.simple.csv").read_bytes() == OPENSANCTIONS.read_bytes()
    assert [p.name for p in dest.iterdir()] == ["targets.simple.csv"]
