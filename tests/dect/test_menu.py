"""Menu replay: every path of the contract (scenarios-and-cli.md §2), key-by-key display traces, errors."""

from __future__ import annotations

import pytest

from dect.codec import MessageType, decode
from dect.handset import Handset
from dect.identity import Ipui
from dect.ies_var import EscapeToProprietary
from dect.menu import MenuError, check_key
from dect.proprietary import DiversionSetting, DiversionType, DndSetting, FeatureRequest, decode_pies
from models.handset_types import get_handset_type, load_handset_types

IPUI = Ipui.parse("029e74a599")

CONTRACT = [
    (["Menu", "Select services", "Do not disturb", "On"], DndSetting(active=True)),
    (["Menu", "Select services", "Do not disturb", "Off"], DndSetting(active=False)),
    (
        ["Menu", "Select services", "Call divert", "All calls", {"Status": "On", "Number": "3000"}],
        DiversionSetting(diversion=DiversionType.ALL, active=True, target="3000"),
    ),
    (
        ["Menu", "Select services", "Call divert", "When busy", {"Status": "On", "Number": "3001"}],
        DiversionSetting(diversion=DiversionType.BUSY, active=True, target="3001"),
    ),
    (
        [
            "Menu",
            "Select services",
            "Call divert",
            "No answer",
            {"Status": "On", "Number": "3002", "Rings": 4},
        ],
        DiversionSetting(diversion=DiversionType.NO_ANSWER, active=True, target="3002", rings=4),
    ),
    (
        ["Menu", "Select services", "Call divert", "No answer", {"Status": "Off"}],
        DiversionSetting(diversion=DiversionType.NO_ANSWER, active=False, target="", rings=3),
    ),
]


def handset(type_name: str | None = None) -> Handset:
    hs = Handset(IPUI, get_handset_type(type_name))
    hs.power_on(0.0)
    hs.take_outgoing()  # the LOCATE-REQUEST
    return hs


def requested(hs: Handset) -> object:
    [data] = hs.take_outgoing()
    msg = decode(data)
    assert msg.message_type is MessageType.CISS_REGISTER
    escape = msg.get(EscapeToProprietary)
    assert escape is not None
    [pie] = decode_pies(escape)
    assert isinstance(pie, FeatureRequest)
    return pie.setting


@pytest.mark.parametrize("type_name", [None, *load_handset_types().names])
@pytest.mark.parametrize(("path", "setting"), CONTRACT, ids=[" > ".join(map(str, p)) for p, _ in CONTRACT])
def test_every_contract_path_sends_its_request(
    type_name: str | None, path: list[object], setting: object
) -> None:
    hs = handset(type_name)
    hs.run_menu(path, 1.0)  # type: ignore[arg-type]
    assert requested(hs) == setting
    assert hs.navigator.screen.value == "idle"


def test_compiled_keys_of_the_contract_paths() -> None:
    hs = handset()
    compiled = [hs.compile_menu(path) for path, _ in CONTRACT]  # type: ignore[misc]
    assert compiled == [
        ["MENU", "OK", "OK", "OK"],
        ["MENU", "OK", "OK", "DOWN", "OK"],
        ["MENU", "OK", "DOWN", "OK", "OK", "RIGHT", "DOWN", "3", "0", "0", "0", "OK"],
        ["MENU", "OK", "DOWN", "OK", "DOWN", "OK", "RIGHT", "DOWN", "3", "0", "0", "1", "OK"],
        [
            "MENU",
            "OK",
            "DOWN",
            "OK",
            "DOWN",
            "DOWN",
            "OK",
            "RIGHT",
            "DOWN",
            "3",
            "0",
            "0",
            "2",
            "DOWN",
            "RIGHT",
            "OK",
        ],
        ["MENU", "OK", "DOWN", "OK", "DOWN", "DOWN", "OK", "OK"],
    ]


def test_compiling_depends_on_what_the_form_opens_with() -> None:
    hs = handset()
    hs.confirmed["cfa"] = hs.confirmed["cfa"].__class__(active=True, target="2999")
    keys = hs.compile_menu(["Menu", "Select services", "Call divert", "All calls", {"Number": "3000"}])
    assert keys == [
        "MENU",
        "OK",
        "DOWN",
        "OK",
        "OK",
        "DOWN",
        "LEFT",
        "LEFT",
        "LEFT",
        "LEFT",
        "3",
        "0",
        "0",
        "0",
        "OK",
    ]
    hs.press_keys(keys, 1.0)
    assert requested(hs) == DiversionSetting(diversion=DiversionType.ALL, active=True, target="3000")


def test_display_trace_of_dnd_on() -> None:
    hs = handset()
    trace = []
    for key in hs.compile_menu(["Menu", "Select services", "Do not disturb", "On"]):
        hs.press(key, 1.0)
        trace.append((key, hs.display))
    assert trace == [
        ("MENU", ["Menu", "> Select services", "  Handset info"]),
        ("OK", ["Select services", "> Do not disturb", "  Call divert"]),
        ("OK", ["Do not disturb", "> On", "  Off"]),
        ("OK", ["Searching base", "Do not disturb", "pending"]),
    ]


def test_display_trace_of_cfna_form() -> None:
    hs = handset()
    hs.press_keys(["MENU", "OK", "DOWN", "OK", "DOWN", "DOWN"], 1.0)
    assert hs.display == ["Call divert", "  All calls", "  When busy", "> No answer"]
    trace = []
    for key in ["OK", "RIGHT", "DOWN", "3", "0", "LEFT", "1", "DOWN", "RIGHT", "RIGHT", "UP"]:
        hs.press(key, 1.0)
        trace.append(hs.display)
    assert trace == [
        ["No answer", "> Status: Off", "  Number: ", "  Rings: 3"],
        ["No answer", "> Status: On", "  Number: ", "  Rings: 3"],
        ["No answer", "  Status: On", "> Number: ", "  Rings: 3"],
        ["No answer", "  Status: On", "> Number: 3", "  Rings: 3"],
        ["No answer", "  Status: On", "> Number: 30", "  Rings: 3"],
        ["No answer", "  Status: On", "> Number: 3", "  Rings: 3"],
        ["No answer", "  Status: On", "> Number: 31", "  Rings: 3"],
        ["No answer", "  Status: On", "  Number: 31", "> Rings: 3"],
        ["No answer", "  Status: On", "  Number: 31", "> Rings: 4"],
        ["No answer", "  Status: On", "  Number: 31", "> Rings: 5"],
        ["No answer", "  Status: On", "> Number: 31", "  Rings: 5"],
    ]
    hs.press("BACK", 1.0)  # cancel: nothing sent
    assert hs.display == ["Call divert", "  All calls", "  When busy", "> No answer"]
    assert hs.take_outgoing() == []


def test_navigation_wraps_and_goes_back() -> None:
    hs = handset()
    hs.press_keys(["MENU", "UP"], 1.0)
    assert hs.display == ["Menu", "  Select services", "> Handset info"]
    hs.press("OK", 1.0)
    assert hs.display == ["Handset info", "IPUI 029e74a599", "IPEI 10727 0304537 3", "fksim PRO"]
    hs.press_keys(["BACK", "LEFT"], 1.0)
    assert hs.display == ["Searching base"]
    hs.press_keys(["MENU", "OK", "END"], 1.0)
    assert hs.display == ["Searching base"]


def test_small_display_scrolls_to_the_cursor() -> None:
    hs = handset("R650H PRO")  # 3 lines of 16 characters
    hs.press_keys(["MENU", "OK", "DOWN", "OK"], 1.0)
    assert hs.display == ["Call divert", "> All calls", "  When busy"]
    hs.press_keys(["DOWN", "DOWN"], 1.0)
    assert hs.display == ["Call divert", "  When busy", "> No answer"]


def test_dialling_from_idle_shows_the_digits() -> None:
    hs = handset()
    hs.press_keys(["*", "7", "9"], 1.0)
    assert hs.display == ["Searching base", "*79"]
    hs.press("LEFT", 1.0)
    assert hs.display == ["Searching base", "*7"]
    hs.press_keys(["8", "TALK"], 1.0)
    assert hs.display == ["Searching base", "Dialling *78"]
    [data] = hs.take_outgoing()
    assert decode(data).message_type is MessageType.CC_SETUP


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (["Menu", "Select services", "Do not disturbb", "On"], 'unknown menu entry "Do not disturbb" (did you mean "Do not disturb"?)'),
        (["Menu", "Select service"], 'unknown menu entry "Select service" (did you mean "Select services"?)'),
        (["Menu", "Select services", "Do not disturb", "Maybe"], 'unknown menu entry "Maybe" (valid: "On", "Off")'),
        (["Men", "Select services"], 'unknown menu entry "Men" (a menu path starts with "Menu")'),
        (["Menu", "Select services", "Call divert", "All calls", {"Staus": "On"}], 'All calls: unknown field "Staus" (did you mean "Status"?)'),
        (["Menu", "Select services", "Call divert", "No answer", {"Rings": 11}], 'No answer: unknown Rings value "11" (did you mean "15" or "12" or "10"?)'),
        (["Menu", "Select services", "Call divert", "All calls", {"Number": "30a"}], 'All calls: Number "30a" is not a number (digits, * and # only)'),
        (["Menu", "Select services", "Do not disturb", "On", "Off"], '"On" is an option: nothing can follow it in the path'),
        (["Menu", "Select services", "Call divert", "All calls", "Status"], '"All calls" is a form: the path ends with a mapping of its fields'),
    ],
)  # fmt: skip
def test_invalid_paths_name_the_closest_labels(path: list[object], message: str) -> None:
    hs = handset()
    with pytest.raises(MenuError) as caught:
        hs.run_menu(path, 1.0)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert hs.take_outgoing() == []


def test_keys_are_checked() -> None:
    assert check_key("ok") == "OK"
    with pytest.raises(MenuError, match='unknown key "OKK" \\(did you mean "OK"'):
        check_key("OKK")
