"""The attack corpus: hostile XML and JSON payloads, each rejected with its code, through
``Catalogue().decode`` and through a running hub, without touching the network or the file system, without
leaking what a file holds, in bounded memory, and with the hub still consuming afterwards.

Codes, and why (the decoder refuses at the cheapest point, hub/codec.py):

==========================  ======================  ==========================================================
attack                      code                    why
==========================  ======================  ==========================================================
XXE (file, network,         XML_ENTITY_FORBIDDEN    any DOCTYPE is refused; the parser never resolves entities,
parameter entities),                                never loads a DTD and has no network access, so nothing is
billion laughs, quadratic                           fetched or expanded before the refusal
blowup, external DTD
XInclude (file, network)    XML_SCHEMA              XInclude is never processed: ``xi:include`` is an element in
                                                    a foreign namespace, which the type's XSD does not allow
10,000-deep XML             XML_TOO_DEEP            libxml2 stops at depth 256 (no ``huge_tree``)
100-deep XML                XML_TOO_DEEP            the hub's own cap (limits.max_depth, 64)
6 MiB XML or JSON           PAYLOAD_TOO_LARGE       the size cap (5 MiB) is checked before any parser runs
100,000-deep JSON           JSON_TOO_DEEP           the parser's recursion limit, then the hub's depth cap (64)
5,000-digit number, 1e999,  JSON_NUMBER_INVALID     integers over 30 digits, exponents over 30 and the
NaN, Infinity                                       non-finite constants are refused while parsing
duplicate key               JSON_DUPLICATE_KEY      refused while parsing (JSON's last-one-wins is ambiguous)
==========================  ======================  ==========================================================

The loopback HTTP server started here counts every TCP connection, so "zero" means nothing was even
attempted. Memory is measured in a child process per attack (libxml2 allocates outside Python, so
tracemalloc cannot see it): after a warm-up, freed heap pages are handed back (gc, malloc_trim) and the
peak resident set size is reset to the current one (/proc/self/clear_refs); the peak (VmHWM, which is what
ru_maxrss reports for a process that was not exec'ed from a bigger one) is read before and after the
decode, and the difference is the decode's own peak growth. ru_maxrss itself is only the fallback: across
fork and exec Linux keeps the parent's peak in it, so a child of a large pytest process showed no growth.
Valid 4 MiB manifests are measured the same way as controls (the XML one must show a growth, or the
method would be blind).
``benchmarks/validation.py`` times the same corpus.
"""

from __future__ import annotations

import json
import re
import socket
import socketserver
import subprocess
import sys
import threading
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub import codec
from hub.catalogue import Catalogue
from hub.errors import MessageRejected
from hub.testing import HubUnderTest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
MSG_TYPE = "manifest.sea"
SENDER = "msc-ke"  # registered to send manifest.sea (config/partners.yaml)
BASE_XML = EXAMPLES / MSG_TYPE / "valid" / "msc-je608a-kemba.xml"
BASE_JSON = EXAMPLES / MSG_TYPE / "valid" / "msc-je608a-kemba.json"
MIB = 1024 * 1024
MEMORY_LIMIT_KB = 50 * 1024  # 50 MB above the warmed-up baseline


@dataclass(frozen=True)
class Attack:
    name: str
    content_type: str
    data: bytes
    code: str


# ---------------------------------------------------------------- a loopback server that counts


class CountingServer(socketserver.ThreadingTCPServer):
    """An HTTP server on 127.0.0.1 that counts every connection and answers with entity declarations that
    would leak its own secret if they were ever fetched and used."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, secret: str) -> None:
        self.connections = 0
        self.secret = secret
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, CountingServer)
        with server.lock:
            server.connections += 1
        sock: socket.socket = self.request
        sock.settimeout(2)
        try:
            sock.recv(65536)
            body = f'<!ENTITY leak "{server.secret}"><!ENTITY % leakp "{server.secret}">{server.secret}'.encode()
            head = f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
            sock.sendall(head.encode() + body)
        except OSError:
            pass


@pytest.fixture(scope="module")
def secret() -> str:
    return f"MARKER-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def marker(tmp_path_factory: pytest.TempPathFactory, secret: str) -> Path:
    path = tmp_path_factory.mktemp("attacks") / "marker.txt"
    path.write_text(secret + "\n")
    return path


@pytest.fixture(scope="module")
def server(secret: str) -> Iterator[CountingServer]:
    srv = CountingServer("SERVER-" + secret)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


# ---------------------------------------------------------------- the corpus


def _xml_with_doctype(doctype: str, reference: str) -> bytes:
    """The base manifest with a DOCTYPE before the root and ``reference`` as the vessel name."""
    text = BASE_XML.read_text()
    text = re.sub(r"<VesselName>[^<]*</VesselName>", f"<VesselName>{reference}</VesselName>", text, count=1)
    text = text.replace("<SeaManifest ", doctype + "\n<SeaManifest ", 1)
    return text.encode()


def _xml_with_vessel_name(content: str) -> bytes:
    text = BASE_XML.read_text()
    return re.sub(r"<VesselName>[^<]*</VesselName>", f"<VesselName>{content}</VesselName>", text, count=1).encode()


def _xml_nested(depth: int) -> bytes:
    text = BASE_XML.read_text()
    nest = "<Carrier>" * depth + "</Carrier>" * depth
    return text.replace("</SeaManifest>", nest + "</SeaManifest>").encode()


def _repeated_consignments(content_type: str, size: int) -> bytes:
    """The base manifest with its consignments repeated until the document exceeds ``size`` bytes."""
    if content_type == codec.XML_CT:
        text = BASE_XML.read_text()
        start, end = text.index("<Consignment>"), text.rindex("</Consignment>") + len("</Consignment>")
        block = text[start:end]
        return (text[:start] + block * (size // len(block) + 1) + text[end:]).encode()
    data = json.loads(BASE_JSON.read_text())
    lines = data["consignment"]
    block = len(json.dumps(lines))
    data["consignment"] = lines * (size // block + 1)
    return json.dumps(data).encode()


def _json_replacing(old: str, new: str) -> bytes:
    text = BASE_JSON.read_text()
    assert old in text, old
    return text.replace(old, new, 1).encode()


def attack_corpus(marker: Path, url: str) -> list[Attack]:
    """Every attack, built on the manifest.sea examples; ``marker`` is a local file holding a secret,
    ``url`` the loopback server that must never be contacted."""
    xml, js = codec.XML_CT, codec.JSON_CT
    file_url = marker.resolve().as_uri()
    entity = "XML_ENTITY_FORBIDDEN"
    lols = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    big = "a" * 50_000
    xi = "http://www.w3.org/2001/XInclude"
    mass = '"value": 25600.5'
    return [
        Attack("xxe-file-passwd", xml,
               _xml_with_doctype('<!DOCTYPE SeaManifest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
               entity),
        Attack("xxe-file-marker", xml,
               _xml_with_doctype(f'<!DOCTYPE SeaManifest [<!ENTITY xxe SYSTEM "{file_url}">]>', "&xxe;"), entity),
        Attack("xxe-network", xml,
               _xml_with_doctype(f'<!DOCTYPE SeaManifest [<!ENTITY xxe SYSTEM "{url}/xxe">]>', "&xxe;"), entity),
        Attack("xxe-parameter-entity-oob", xml,
               _xml_with_doctype(f'<!DOCTYPE SeaManifest [<!ENTITY % file SYSTEM "{file_url}">'
                                 f'<!ENTITY % dtd SYSTEM "{url}/oob.dtd"> %dtd; %leakp;]>', "&leak;"), entity),
        Attack("billion-laughs", xml,
               _xml_with_doctype(f'<!DOCTYPE SeaManifest [<!ENTITY lol0 "lol">{lols}]>', "&lol9;"), entity),
        Attack("quadratic-blowup", xml,
               _xml_with_doctype(f'<!DOCTYPE SeaManifest [<!ENTITY a "{big}">]>', "&a;" * 50_000), entity),
        Attack("external-dtd-network", xml,
               _xml_with_doctype(f'<!DOCTYPE SeaManifest SYSTEM "{url}/ext.dtd">', "&leak;"), entity),
        Attack("external-dtd-file", xml,
               _xml_with_doctype(f'<!DOCTYPE SeaManifest PUBLIC "-//X//Y" "{file_url}">', "MSC"), entity),
        Attack("xinclude-file", xml,
               _xml_with_vessel_name(f'<xi:include xmlns:xi="{xi}" href="{file_url}" parse="text"/>'),
               "XML_SCHEMA"),
        Attack("xinclude-network", xml,
               _xml_with_vessel_name(f'<xi:include xmlns:xi="{xi}" href="{url}/xi.xml"/>'), "XML_SCHEMA"),
        Attack("xml-nested-10000", xml, _xml_nested(10_000), "XML_TOO_DEEP"),
        Attack("xml-nested-100", xml, _xml_nested(100), "XML_TOO_DEEP"),
        Attack("xml-6mib", xml, _repeated_consignments(xml, 6 * MIB), "PAYLOAD_TOO_LARGE"),
        Attack("json-6mib", js, _repeated_consignments(js, 6 * MIB), "PAYLOAD_TOO_LARGE"),
        Attack("json-nested-100000", js,
               _json_replacing('"vesselName": ', '"vesselName": ' + "[" * 100_000 + "]" * 100_000 + ', "x": '),
               "JSON_TOO_DEEP"),
        Attack("json-nested-objects-100000", js,
               _json_replacing('"vesselName": ', '"vesselName": ' + '{"a":' * 100_000 + "1" + "}" * 100_000
                               + ', "x": '), "JSON_TOO_DEEP"),
        Attack("json-5000-digit-number", js, _json_replacing(mass, '"value": ' + "9" * 5000), "JSON_NUMBER_INVALID"),
        Attack("json-1e999", js, _json_replacing(mass, '"value": 1e999'), "JSON_NUMBER_INVALID"),
        Attack("json-nan", js, _json_replacing(mass, '"value": NaN'), "JSON_NUMBER_INVALID"),
        Attack("json-infinity", js, _json_replacing(mass, '"value": -Infinity'), "JSON_NUMBER_INVALID"),
        Attack("json-duplicate-key", js,
               _json_replacing('"vesselName": ', '"vesselName": "MSC SHANELLE V", "vesselName": '),
               "JSON_DUPLICATE_KEY"),
    ]  # fmt: skip


ATTACK_NAMES = [a.name for a in attack_corpus(Path("/nonexistent"), "http://127.0.0.1:9")]


@pytest.fixture(scope="module")
def corpus(marker: Path, server: CountingServer) -> dict[str, Attack]:
    return {a.name: a for a in attack_corpus(marker, server.url)}


def test_corpus_is_what_it_claims() -> None:
    """Sizes and shapes: the payload attacks are over the cap, the others under it."""
    attacks = {a.name: a for a in attack_corpus(Path("/tmp/m"), "http://127.0.0.1:9")}
    for name, a in attacks.items():
        if a.code == "PAYLOAD_TOO_LARGE":
            assert 6 * MIB <= len(a.data) < 6 * MIB + 8192, name
        else:
            assert len(a.data) < codec.DEFAULT_MAX_BYTES, name
    assert attacks["json-5000-digit-number"].data.count(b"9" * 5000) == 1
    assert b"[" * 100_000 in attacks["json-nested-100000"].data


# ---------------------------------------------------------------- through the catalogue


def _exception_text(exc: BaseException) -> str:
    details = exc.details if isinstance(exc, MessageRejected) else []
    return "".join(traceback.format_exception(exc)) + json.dumps([d.as_dict() for d in details])


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_catalogue_rejects_the_attack_with_its_code(
    name: str, corpus: dict[str, Attack], server: CountingServer, secret: str
) -> None:
    attack = corpus[name]
    before = server.connections
    with pytest.raises(MessageRejected) as info:
        Catalogue().decode(attack.data, attack.content_type, MSG_TYPE)
    codes = {d.code for d in info.value.details}
    assert codes == {attack.code}, [d.as_dict() for d in info.value.details]
    text = _exception_text(info.value)
    assert secret not in text
    assert "root:" not in text  # nothing of /etc/passwd
    assert server.connections == before == 0


def test_local_files_named_by_a_doctype_are_never_opened(marker: Path) -> None:
    """libxml2 opens a DOCTYPE's external subset from a local file even with load_dtd=False; the codec's
    resolver answers it with nothing, so an existing and a missing file get the same answer (no file
    existence oracle) and a FIFO or /dev/zero cannot block the decoder."""
    answers = set()
    for target in (marker.resolve().as_uri(), "file:///etc/passwd", "file:///nonexistent/x.dtd", "file:///dev/zero"):
        data = _xml_with_doctype(f'<!DOCTYPE SeaManifest SYSTEM "{target}">', "MSC")
        with pytest.raises(MessageRejected) as info:
            Catalogue().decode(data, codec.XML_CT, MSG_TYPE)
        answers.add(json.dumps([d.as_dict() for d in info.value.details]))
    assert len(answers) == 1 and "XML_ENTITY_FORBIDDEN" in answers.pop()


def test_xsi_schema_location_is_not_followed(server: CountingServer) -> None:
    """xsi:schemaLocation is allowed on any element by XSD itself; the validator must not fetch it (the
    document is valid otherwise, so it is accepted: the hint is simply ignored)."""
    text = BASE_XML.read_text().replace(
        "<SeaManifest ",
        '<SeaManifest xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="urn:ke:nesws:hub:manifest.sea:1 {server.url}/evil.xsd" ',
        1,
    )
    body = Catalogue().decode(text.encode(), codec.XML_CT, MSG_TYPE)  # a valid document, the hint ignored
    assert body.TYPE == MSG_TYPE
    assert server.connections == 0


def test_valid_manifests_still_decode_after_the_attacks(corpus: dict[str, Attack]) -> None:
    catalogue = Catalogue()
    for attack in corpus.values():
        with pytest.raises(MessageRejected):
            catalogue.decode(attack.data, attack.content_type, MSG_TYPE)
    assert catalogue.decode(BASE_XML.read_bytes(), codec.XML_CT, MSG_TYPE).vessel_name == "MSC SHANELLE V"
    assert catalogue.decode(BASE_JSON.read_bytes(), codec.JSON_CT, MSG_TYPE).vessel_name == "MSC SHANELLE V"


# ---------------------------------------------------------------- memory, in a child process per attack

CHILD = r"""
import ctypes, gc, json, resource, sys, time
from pathlib import Path
from hub.catalogue import Catalogue
from hub.errors import MessageRejected

msg_type, attack_path, content_type, warm_xml, warm_json = sys.argv[1:6]
catalogue = Catalogue()
for path, ct in ((warm_xml, "application/xml"), (warm_json, "application/json")):
    for _ in range(3):
        catalogue.decode(Path(path).read_bytes(), ct, msg_type)
data = Path(attack_path).read_bytes()
try:  # warm the rejection path too, with a small refusal of the same kind
    catalogue.decode(b"{" if content_type == "application/json" else b"<", content_type, msg_type)
except MessageRejected:
    pass
gc.collect()
try:  # hand freed heap pages back (glibc), so that the decode cannot hide in memory the warm-up left resident
    ctypes.CDLL("libc.so.6").malloc_trim(0)
except (OSError, AttributeError):
    pass


def peak_kb():
    # This process's own peak RSS: VmHWM, which clear_refs resets. Not ru_maxrss: exec keeps the peak of
    # the process that forked (Linux saves the old mm's peak in the signal struct), so a child of a large
    # pytest process would start at pytest's size and show no growth at all.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), "VmHWM"
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"


try:  # reset the peak to the current resident size (Linux >= 4.0), so that the decode's own peak shows
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
before, source = peak_kb()
start = time.perf_counter()
try:
    catalogue.decode(data, content_type, msg_type)
    code = None
except MessageRejected as exc:
    code = exc.code
elapsed = time.perf_counter() - start
after, _ = peak_kb()
print(json.dumps({"code": code, "delta_kb": after - before, "baseline_kb": before, "ms": elapsed * 1000,
                  "peak_reset": reset and source == "VmHWM", "source": source}))
"""


def measure_in_child(attack: Attack, workdir: Path) -> dict[str, object]:
    """Decode one attack in a fresh interpreter; its code, peak-RSS growth (KiB) and time."""
    path = workdir / f"{attack.name}.bin"
    path.write_bytes(attack.data)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, MSG_TYPE, str(path), attack.content_type, str(BASE_XML), str(BASE_JSON)],
        capture_output=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    result: dict[str, object] = json.loads(proc.stdout)
    result["stderr"] = proc.stderr.decode(errors="replace")
    return result


@pytest.mark.slow
def test_each_attack_stays_under_50_mb_in_a_child_process(
    corpus: dict[str, Attack], tmp_path: Path, server: CountingServer, secret: str
) -> None:
    # controls: valid 4 MiB manifests, which must show a growth, or the method would be blind
    controls = {
        f"control-valid-4mib-{form}": Attack(f"control-{form}", ct, _repeated_consignments(ct, 4 * MIB), "")
        for form, ct in (("xml", codec.XML_CT), ("json", codec.JSON_CT))
    }
    runs = {**corpus, **controls}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(runs, pool.map(lambda a: measure_in_child(a, tmp_path), runs.values()), strict=True))
    print("\nattack                          code                   peak RSS +KiB   ms")
    for name, r in results.items():
        print(f"{name:31} {r['code']!s:22} {r['delta_kb']:>13} {r['ms']:>6.1f}")
    for name in controls:
        control = results.pop(name)
        assert control["code"] is None, control  # accepted
        if name.endswith("xml") and control["peak_reset"]:  # the method sees libxml2's memory (8-35 MB seen)
            assert isinstance(control["delta_kb"], int) and control["delta_kb"] > 1024, control
    for name, r in results.items():
        assert r["code"] == corpus[name].code, (name, r)
        assert isinstance(r["delta_kb"], int) and r["delta_kb"] < MEMORY_LIMIT_KB, (name, r)
        assert secret not in str(r["stderr"])
    assert server.connections == 0


# ---------------------------------------------------------------- through the running hub


@pytest.mark.broker
@pytest.mark.slow
async def test_hub_rejects_every_attack_and_keeps_consuming(
    hub: HubUnderTest, corpus: dict[str, Attack], server: CountingServer, secret: str
) -> None:
    acks: dict[str, dict[str, object]] = {}
    async with hub.partner(SENDER) as client:
        for name, attack in corpus.items():
            ack = await client.send(attack.data, MSG_TYPE, content_type=attack.content_type,
                                    message_id=f"attack-{name}-{uuid.uuid4().hex[:8]}", timeout=30)  # fmt: skip
            assert ack is not None, f"no acknowledgement for {name}; hub log: {hub.tail_log()}"
            acks[name] = ack
        valid = await client.send(BASE_XML.read_bytes(), MSG_TYPE, content_type=codec.XML_CT,
                                  message_id=f"after-attacks-{uuid.uuid4().hex[:8]}", timeout=30)  # fmt: skip
    wrong = {
        name: ack for name, ack in acks.items()
        if ack["status"] != "rejected" or {e["code"] for e in ack["errors"]} != {corpus[name].code}  # type: ignore[attr-defined]
    }  # fmt: skip
    assert not wrong, wrong
    assert valid is not None and valid["status"] == "accepted", (valid, hub.tail_log())
    assert hub.proc is not None and hub.proc.poll() is None, "the hub process is still running"
    assert server.connections == 0
    assert secret not in json.dumps(acks)
    for name, ack in acks.items():
        print(f"{name:31} {ack['status']:9} {[e['code'] for e in ack['errors']]}")  # type: ignore[attr-defined]
    log = hub.log_path.read_text(errors="replace")
    assert '"event": "consuming"' in log  # the log is the hub's, and not empty
    assert secret not in log
    assert "root:x:0:0" not in log and "root:x:0:0" not in json.dumps(acks)
