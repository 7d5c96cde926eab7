"""Validation benchmark: how long the decoder takes to refuse each attack of the corpus (tests/test_attacks.py;
target under 100 ms each), and how long a ~2.5 KB and a ~1 MB sea manifest take through
``Catalogue().decode`` next to bare lxml XSD validation of the same documents, in the same run.

The 1 MB manifest repeats the consignment lines of examples/manifest.sea/valid/mfano-consol-house-607w.xml
with fresh bill of lading numbers and fresh container numbers (ISO 6346 check digits computed by
``hub.identifiers.iso6346_check_digit``), so it is valid and every line is distinct.

Steps measured for each manifest:
  decode xml       Catalogue().decode of the XML form: size cap, parse, depth cap, type check, XSD, model
  lxml parse       etree.fromstring with the hub's hardened parser
  lxml validate    etree.XMLSchema.validate on an already parsed tree (the XSD step alone)
  lxml parse+val   both, i.e. what bare lxml needs to say "schema-valid"
  decode json      Catalogue().decode of the equivalent JSON form (parse, depth cap, model)

Usage: .venv/bin/python benchmarks/validation.py [--json] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from hub import codec  # noqa: E402
from hub.catalogue import Catalogue  # noqa: E402
from hub.errors import MessageRejected  # noqa: E402
from hub.identifiers import iso6346_check_digit  # noqa: E402
from tests.test_attacks import CountingServer, attack_corpus  # noqa: E402

MSG_TYPE = "manifest.sea"
SMALL = ROOT / "examples" / MSG_TYPE / "valid" / "mfano-consol-house-607w.xml"
LARGE_BYTES = 1_000_000
ATTACK_TARGET_MS = 100.0


def timed(fn: Callable[[], object], min_seconds: float, min_runs: int, max_runs: int) -> dict[str, float]:
    """Run ``fn`` repeatedly (at least ``min_runs`` times and ``min_seconds``); per-call statistics in ms."""
    fn()  # warm-up (lazy XSD compilation, caches)
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < max_runs and (len(samples) < min_runs or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {
        "runs": len(samples),
        "median_ms": statistics.median(samples),
        "min_ms": min(samples),
        "max_ms": max(samples),
    }


def large_manifest(base: Path, target: int) -> tuple[bytes, int]:
    """The base manifest's consignment lines repeated, each copy with a fresh bill of lading number and
    fresh container numbers, until the document has at least ``target`` bytes; (document, lines)."""
    root = codec.parse_xml(base.read_bytes())
    ns = etree.QName(root).namespace
    lines = root.findall(f"{{{ns}}}Consignment")
    for line in lines:
        root.remove(line)
    head = len(etree.tostring(root))
    serial = 0

    def add(n: int) -> None:
        nonlocal serial
        for _ in range(n):
            new = copy.deepcopy(lines[serial % len(lines)])
            serial += 1
            doc_id = new.find(f"{{{ns}}}TransportDocumentId")
            assert doc_id is not None
            doc_id.text = f"MFCKE{serial:07d}"
            for equipment in new.findall(f"{{{ns}}}TransportEquipment"):
                container = equipment.find(f"{{{ns}}}Id")
                assert container is not None
                prefix = f"MSKU{serial:06d}"
                container.text = prefix + str(iso6346_check_digit(prefix))
            root.append(new)

    add(len(lines))
    while (size := len(etree.tostring(root))) < target:
        add(max(1, math.ceil((target - size) / ((size - head) / serial))))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")), serial


def bench_attacks(catalogue: Catalogue, quick: bool) -> tuple[list[dict[str, Any]], int]:
    secret = f"MARKER-{uuid.uuid4().hex}"
    server = CountingServer(secret)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            marker = Path(tmp) / "marker.txt"
            marker.write_text(secret)
            for attack in attack_corpus(marker, server.url):
                codes: set[str] = set()

                def run(data: bytes = attack.data, ct: str = attack.content_type, codes: set[str] = codes) -> None:
                    try:
                        catalogue.decode(data, ct, MSG_TYPE)
                    except MessageRejected as exc:
                        codes.add(exc.code)
                    else:
                        codes.add("ACCEPTED")

                stats = timed(run, 0.05 if quick else 0.3, 3 if quick else 10, 1000)
                rows.append({
                    "attack": attack.name,
                    "bytes": len(attack.data),
                    "expected": attack.code,
                    "code": ",".join(sorted(codes)),
                    **stats,
                    "under_target": stats["median_ms"] < ATTACK_TARGET_MS,
                })  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    return rows, server.connections


def bench_validation(catalogue: Catalogue, quick: bool) -> list[dict[str, Any]]:
    spec = catalogue.spec(MSG_TYPE)
    schema = spec.schema
    small = SMALL.read_bytes()
    large, lines = large_manifest(SMALL, LARGE_BYTES)
    rows: list[dict[str, Any]] = []
    for label, xml, consignments in (("2.5 KB", small, None), ("1 MB", large, lines)):
        body = catalogue.decode(xml, codec.XML_CT, MSG_TYPE)  # valid, or this raises
        as_json = catalogue.encode(body, codec.JSON_CT)
        tree = etree.fromstring(xml, codec._PARSER)
        assert schema.validate(tree)
        n_lines = consignments if consignments is not None else len(getattr(body, "consignment", ()))
        budget = (0.2, 5, 200) if quick else (1.5, 20, 20000)

        def parse_and_validate(xml: bytes = xml) -> bool:
            return bool(schema.validate(etree.fromstring(xml, codec._PARSER)))

        steps: list[tuple[str, Callable[[], object]]] = [
            ("decode xml", lambda xml=xml: catalogue.decode(xml, codec.XML_CT, MSG_TYPE)),
            ("lxml parse", lambda xml=xml: etree.fromstring(xml, codec._PARSER)),
            ("lxml validate", lambda tree=tree: schema.validate(tree)),
            ("lxml parse+val", parse_and_validate),
            ("decode json", lambda js=as_json: catalogue.decode(js, codec.JSON_CT, MSG_TYPE)),
        ]
        for step, fn in steps:
            size = len(as_json) if step == "decode json" else len(xml)
            rows.append({"document": label, "bytes": size, "consignments": n_lines, "step": step,
                         **timed(fn, *budget)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args(argv)
    catalogue = Catalogue()
    attacks, connections = bench_attacks(catalogue, args.quick)
    validation = bench_validation(catalogue, args.quick)
    env = {
        "python": platform.python_version(),
        "lxml": ".".join(map(str, etree.LXML_VERSION)),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "machine": platform.machine(),
        "system": platform.system(),
    }
    wrong = [a["attack"] for a in attacks if a["code"] != a["expected"]]
    slow = [a["attack"] for a in attacks if not a["under_target"]]
    if args.json:
        print(json.dumps({"environment": env, "attack_target_ms": ATTACK_TARGET_MS, "attacks": attacks,
                          "loopback_connections": connections, "validation": validation}, indent=2))  # fmt: skip
    else:
        print(f"environment: {env}")
        print(f"\nattack rejections (target: median under {ATTACK_TARGET_MS:.0f} ms; max shown too)")
        print(f"{'attack':28} {'bytes':>9} {'code':22} {'median ms':>10} {'max ms':>8} {'runs':>5}  ok")
        for a in attacks:
            ok = "yes" if a["under_target"] and a["code"] == a["expected"] else "NO"
            print(f"{a['attack']:28} {a['bytes']:>9} {a['code']:22} {a['median_ms']:>10.3f} {a['max_ms']:>8.3f}"
                  f" {a['runs']:>5}  {ok}")  # fmt: skip
        print(f"loopback server connections: {connections}")
        print("\nsea manifest validation")
        print(f"{'document':9} {'bytes':>9} {'lines':>6} {'step':15} {'median ms':>10} {'min ms':>9} {'runs':>6}")
        for v in validation:
            print(f"{v['document']:9} {v['bytes']:>9} {v['consignments']:>6} {v['step']:15} {v['median_ms']:>10.3f}"
                  f" {v['min_ms']:>9.3f} {v['runs']:>6}")  # fmt: skip
        for label in ("2.5 KB", "1 MB"):
            by_step = {v["step"]: v["median_ms"] for v in validation if v["document"] == label}
            print(f"{label}: decode xml / lxml parse+validate = "
                  f"{by_step['decode xml'] / by_step['lxml parse+val']:.1f}x")  # fmt: skip
    if wrong or slow or connections:
        print(f"problems: wrong code {wrong}, over target {slow}, connections {connections}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
