"""Reading a provisioning file: the vendor XML of spec/base-models.md §3, safely, with line numbers.

This module only turns bytes into a `ProvisioningDoc` (the ordered `<param>` and `<oper>` elements of
the `<nvm>` block, each with its line) and reports structural problems. What the parameters mean,
and whether they fit a model, is `firmware.provisioning`'s business.

Safety [choice, base-models.md §3]: the file comes from a network server, so it is parsed with
defusedxml's expat reader. Entity declarations (the "billion laughs" bomb) and external entities or
references are refused with a clear error; nothing is expanded or fetched. Any document type
declaration is refused too, as in `as-feature-event` bodies: even without entities, an internal
subset can declare attribute defaults (``<!ATTLIST param value CDATA "1">``) that fill in values the
file does not state. A file that is not well-formed XML raises `ProvisioningSyntaxError` and yields
no document at all, so nothing from it can be applied.
"""

from __future__ import annotations

import enum
import io
import os
import stat
from dataclasses import dataclass, field
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import InputSource, Locator

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.expatreader import DefusedExpatParser

from models.errors import ConfigError

#: The format version this project models (base-models.md §3).
KNOWN_VERSION = "1.1"
#: Largest provisioning file read [choice]: a 20,000-handset file is about 15 MB.
MAX_FILE_BYTES = 32 * 1024 * 1024


class Level(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One finding about a provisioning file, printed ``file:line: level: message``."""

    source: str
    line: int
    level: Level
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.level.value}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.level is Level.ERROR


class ProvisioningSyntaxError(ConfigError):
    """The file is not well-formed XML, or tries entity expansion / external entities: nothing applies."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(
            f"{diagnostic.level.value}: {diagnostic.message}", where=f"{diagnostic.source}:{diagnostic.line}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """``<param name="..." value="..."/>``."""

    name: str
    value: str
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Oper:
    """``<oper name="..." value="...">`` with its child params, in file order."""

    name: str
    value: str | None
    line: int
    params: tuple[Param, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FirmwareFile:
    """``<firmware><file version="..." url="..."/></firmware>``: recorded, not flashed."""

    version: str
    url: str
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisioningDoc:
    source: str
    version: str | None
    product_id: str | None
    items: tuple[Param | Oper, ...]
    firmware: tuple[FirmwareFile, ...] = ()
    #: Structural findings (unknown elements, missing attributes): the rest of the file still reads.
    problems: tuple[Diagnostic, ...] = field(default=())


class _DoctypeRefused(Exception):
    """A document type declaration was read (raised at its end, after any entity in it was refused)."""

    def __init__(self, name: str, line: int) -> None:
        super().__init__(name)
        self.name = name
        self.line = line


class _ProvisioningParser(DefusedExpatParser):  # type: ignore[misc]
    """defusedxml's expat reader that also refuses any ``<!DOCTYPE>``.

    The refusal comes at the declaration's end, so an entity declared inside it is still reported
    as the entity it is (the more telling message); the line named is the DOCTYPE's own.
    """

    def reset(self) -> None:
        super().reset()
        parser = self._parser
        start: dict[str, Any] = {}

        def start_doctype(name: str, sysid: str | None, pubid: str | None, internal: bool) -> None:
            start.update(name=name, line=parser.CurrentLineNumber)

        def end_doctype() -> None:
            raise _DoctypeRefused(start.get("name", "?"), start.get("line", 1))

        parser.StartDoctypeDeclHandler = start_doctype
        parser.EndDoctypeDeclHandler = end_doctype


#: Stands in the element stack for an element that was reported as unexpected; its content is skipped.
_SKIPPED = "\x00skipped"


class _Handler(ContentHandler):
    """Builds the document from SAX events, remembering each element's line."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.locator: Locator | None = None
        self.stack: list[str] = []
        self.items: list[Param | Oper] = []
        self.firmware: list[FirmwareFile] = []
        self.problems: list[Diagnostic] = []
        self.version: str | None = None
        self.product_id: str | None = None
        self.oper: dict[str, Any] | None = None

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    @property
    def line(self) -> int:
        return (self.locator.getLineNumber() or 0) if self.locator is not None else 0

    def problem(self, message: str, level: Level = Level.ERROR, line: int | None = None) -> None:
        self.problems.append(
            Diagnostic(
                source=self.source, line=self.line if line is None else line, level=level, message=message
            )
        )

    def _attr(self, element: str, attrs: Any, name: str) -> str | None:
        value = attrs.get(name)
        if value is None:
            self.problem(f'<{element}> has no "{name}" attribute')
        return None if value is None else str(value)

    def startElement(self, name: str, attrs: Any) -> None:
        parent = self.stack[-1] if self.stack else None
        self.stack.append(name)
        if parent is None:
            if name != "provisioning":
                self.problem(f"the root element is <{name}>, expected <provisioning>")
                return
            self.version = attrs.get("version")
            self.product_id = attrs.get("productID")
            if self.version is None:
                self.problem('<provisioning> has no "version" attribute', Level.WARNING)
            elif self.version != KNOWN_VERSION:
                self.problem(
                    f'format version "{self.version}" is not the known {KNOWN_VERSION}', Level.WARNING
                )
            return
        if self.stack[0] != "provisioning" or _SKIPPED in self.stack:
            return  # a wrong element was reported once; do not pile up findings below it
        if parent == "provisioning" and name in ("nvm", "firmware"):
            return
        if parent == "firmware" and name == "file":
            version, url = self._attr(name, attrs, "version"), self._attr(name, attrs, "url")
            if version is not None and url is not None:
                self.firmware.append(FirmwareFile(version=version, url=url, line=self.line))
            return
        if parent == "nvm" and name == "oper":
            oper_name = self._attr(name, attrs, "name")
            value = attrs.get("value")
            self.oper = {"name": oper_name, "value": value, "line": self.line, "params": []}
            return
        if name == "param" and (parent == "nvm" or (parent == "oper" and self.oper is not None)):
            param_name, value = self._attr(name, attrs, "name"), self._attr(name, attrs, "value")
            if param_name is None or value is None:
                return
            param = Param(name=param_name, value=value, line=self.line)
            if parent == "oper" and self.oper is not None:
                self.oper["params"].append(param)
            else:
                self.items.append(param)
            return
        self.problem(f"unexpected element <{name}> inside <{parent}>")
        self.stack[-1] = _SKIPPED

    def endElement(self, name: str) -> None:
        self.stack.pop()
        if name == "oper" and self.oper is not None:
            oper, self.oper = self.oper, None
            if oper["name"] is not None:
                self.items.append(
                    Oper(
                        name=oper["name"],
                        value=oper["value"],
                        line=oper["line"],
                        params=tuple(oper["params"]),
                    )
                )


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_provisioning_file(path: str) -> bytes:
    """The bytes of the provisioning file at `path`: a regular file of at most `MAX_FILE_BYTES`.

    A directory, a FIFO, a device (``/dev/zero``) or a file too large is a `ConfigError` naming the
    path, never a hang or an exhausted memory. The file is opened without blocking (a FIFO with no
    writer would block an ordinary open) and checked on the open descriptor, so what is checked is
    what is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror or err}") from None
    too_big = ConfigError(f"cannot read {path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"cannot read {path}: {_kind(info.st_mode)}, not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise too_big
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_FILE_BYTES:  # it grew while being read
                raise too_big
        return b"".join(chunks)
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror or err}") from None
    finally:
        os.close(fd)


def parse_provisioning(data: bytes | str, *, source: str = "<provisioning>") -> ProvisioningDoc:
    """Parse a provisioning file. `source` names it in every diagnostic.

    Raises `ProvisioningSyntaxError` for XML that is not well-formed, or that declares entities or
    refers to external ones; structural findings in well-formed XML are in `doc.problems`.
    """
    handler = _Handler(source)
    # Any entity declaration and any external reference is refused (defusedxml raises before expat
    # expands or fetches); any DOCTYPE is refused at its end by _ProvisioningParser.
    parser = _ProvisioningParser(forbid_dtd=False, forbid_entities=True, forbid_external=True)
    parser.setContentHandler(handler)
    # External general and parameter entities are never resolved (belt and braces with forbid_external).
    parser.setFeature("http://xml.org/sax/features/external-general-entities", False)
    parser.setFeature("http://xml.org/sax/features/external-parameter-entities", False)
    source_input = InputSource(source)
    if isinstance(data, str):
        source_input.setCharacterStream(io.StringIO(data))
    else:
        source_input.setByteStream(io.BytesIO(data))

    def refused(message: str) -> ProvisioningSyntaxError:
        line = parser.getLineNumber() if parser._parser is not None else handler.line
        return ProvisioningSyntaxError(
            Diagnostic(source=source, line=line or 1, level=Level.ERROR, message=message)
        )

    try:
        parser.parse(source_input)
    except SAXParseException as err:
        raise ProvisioningSyntaxError(
            Diagnostic(
                source=source,
                line=err.getLineNumber() or 1,
                level=Level.ERROR,
                message=f"not well-formed XML: {err.getMessage()}; nothing applied",
            )
        ) from None
    except EntitiesForbidden as err:
        if err.sysid or err.pubid:
            raise refused(
                f'external entity "{err.name}" ({err.sysid or err.pubid}) refused: provisioning files may '
                "not refer to other resources; nothing applied"
            ) from None
        raise refused(
            f'entity declaration "{err.name}" refused (entity expansion, as in an XML bomb, is not '
            "allowed); nothing applied"
        ) from None
    except _DoctypeRefused as err:
        raise ProvisioningSyntaxError(
            Diagnostic(
                source=source,
                line=err.line,
                level=Level.ERROR,
                message=f"document type declaration <!DOCTYPE {err.name}> refused: a DTD may declare "
                "entities or attribute defaults that change the file's values; nothing applied",
            )
        ) from None
    except ExternalReferenceForbidden as err:
        raise refused(f"external reference {err.sysid or err.pubid} refused; nothing applied") from None
    except DTDForbidden as err:
        raise refused(f"document type declaration {err.name} refused; nothing applied") from None
    except DefusedXmlException as err:
        raise refused(f"refused unsafe XML: {err}; nothing applied") from None
    except (ValueError, LookupError) as err:
        # An unknown or inconsistent encoding declaration surfaces from expat as one of these.
        raise refused(f"cannot decode the file: {err}; nothing applied") from None
    return ProvisioningDoc(
        source=source,
        version=handler.version,
        product_id=handler.product_id,
        items=tuple(handler.items),
        firmware=tuple(handler.firmware),
        problems=tuple(handler.problems),
    )
