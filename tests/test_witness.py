"""The witness: add-checkpoint per C2SP tlog-witness, logs added on first use, evidence, the client.

Every HTTP test runs a real server on 127.0.0.1 (an ephemeral port, in a thread); no
consent-manager app is involved.
"""

from __future__ import annotations

import base64
import http.client
import os
import random
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask, Response, redirect
from werkzeug.serving import BaseWSGIServer, make_server

from consent import ledger
from consent.errors import ConfigError
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.cosignature import Cosigner, WitnessKey, add_cosignatures, verify_cosignatures
from consent.ledger.merkle import Frontier, consistency_proof, verify_consistency
from consent.ledger.note import Signer, VerifierKey
from consent.witness import store as store_module
from consent.witness.cli import witness_group
from consent.witness.client import (
    LedgerForked,
    LedgerRolledBack,
    Witness,
    WitnessRefused,
    WitnessUnavailable,
    cosign,
)
from consent.witness.protocol import (
    LOG_KEY_HEADER,
    MAX_PROOF_LINES,
    SIZE_CONTENT_TYPE,
    InconsistentProof,
    MalformedSubmission,
    format_submission,
    parse_submission,
)
from consent.witness.server import create_witness_app
from consent.witness.store import WitnessDatabaseError, WitnessStore, create_database
from tests import ledger_helpers

NOW = 1_767_600_000  # 2026-01-05, the cosignatures' fixed timestamp
WITNESS_NAME = "witness.example.org/w1"
PREFIX = ledger.ORIGIN_PREFIX


class Log:
    """A ledger in memory: its leaves and the signed checkpoint at every size up to ``n``."""

    def __init__(self, n: int, signer: Signer | None = None) -> None:
        self.signer = signer or ledger_helpers.signer()
        self.key = self.signer.verifier
        self.origin = self.signer.name
        frontier = Frontier()
        self.leaves: list[bytes] = []
        self.notes: dict[int, str] = {}
        for event in ledger_helpers.make_events(n):
            appended = ledger.append(frontier, self.signer, event)
            self.leaves.append(appended.leaf)
            self.notes[frontier.size] = appended.checkpoint

    def root(self, size: int) -> bytes:
        return Checkpoint.parse_body(self.notes[size].split("\n\n")[0] + "\n").root

    def proof(self, old: int, new: int) -> list[bytes]:
        return consistency_proof(self.leaves, old, new) if 0 < old < new else []

    def proofs_to(self, size: int) -> Callable[[int], list[bytes]]:
        """proof_from for cosign(): consistency proofs to ``size``."""
        return lambda old: self.proof(old, size)

    def body(self, old: int, new: int, proof: list[bytes] | None = None) -> bytes:
        return format_submission(old, self.proof(old, new) if proof is None else proof, self.notes[new])


@dataclass
class Served:
    server: BaseWSGIServer
    db: Path
    cosigner: Cosigner

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def witness(self) -> Witness:
        return Witness(self.cosigner.key, self.url)

    @property
    def store(self) -> WitnessStore:
        return WitnessStore(self.db)

    def post(
        self, body: bytes, key: VerifierKey | None = None, path: str = "/add-checkpoint"
    ) -> tuple[int, str, bytes]:
        """A raw request: the status, content type and body of the answer."""
        headers = {} if key is None else {LOG_KEY_HEADER: str(key)}
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=30)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.headers.get_content_type(), response.read()
        finally:
            conn.close()


def _start(app: Flask, started: list[BaseWSGIServer]) -> BaseWSGIServer:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    started.append(server)
    return server


@pytest.fixture
def servers() -> Iterator[list[BaseWSGIServer]]:
    started: list[BaseWSGIServer] = []
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def witness_db(tmp_path: Path) -> tuple[Path, Cosigner]:
    path = tmp_path / "witness.db"
    return path, create_database(path, WITNESS_NAME, now=NOW)


@pytest.fixture
def serve(witness_db: tuple[Path, Cosigner], servers: list[BaseWSGIServer]) -> Callable[..., Served]:
    def start(accept_prefix: str | None = PREFIX) -> Served:
        path, cosigner = witness_db
        app = create_witness_app(path, accept_prefix, clock=lambda: NOW + 0.9)
        return Served(_start(app, servers), path, cosigner)

    return start


@pytest.fixture
def served(serve: Callable[..., Served]) -> Served:
    return serve()


def _cosigned(served: Served, note: str, lines: bytes) -> int:
    """The timestamp of the one verified cosignature by the served witness in ``lines``."""
    found = verify_cosignatures(add_cosignatures(note, lines.decode()), [served.cosigner.key])
    assert [c.witness for c in found] == [served.cosigner.key]
    return found[0].timestamp


def _evidence(served: Served) -> list[tuple[str, str, bytes]]:
    with sqlite3.connect(served.db) as conn:
        return conn.execute("SELECT origin, reason, request FROM evidence ORDER BY id").fetchall()


# --- logs added on first use ----------------------------------------------------------


def test_first_checkpoint_of_a_new_log_is_cosigned_and_its_key_pinned(served: Served) -> None:
    log = Log(3)
    status, content_type, answer = served.post(log.body(0, 3), log.key)
    assert (status, content_type) == (200, "text/plain")
    assert _cosigned(served, log.notes[3], answer) == NOW  # the witness's clock, in whole seconds
    assert served.store.latest(log.origin) == (3, log.root(3))
    with sqlite3.connect(served.db) as conn:
        assert conn.execute("SELECT log_key, added_by FROM logs").fetchall() == [(str(log.key), "first-use")]


def test_new_log_without_the_key_header_is_unknown(served: Served) -> None:
    log = Log(2)
    status, _, answer = served.post(log.body(0, 2))
    assert status == 404
    assert f"expected a {LOG_KEY_HEADER} header" in answer.decode()
    assert served.store.latest(log.origin) is None


def test_new_log_outside_the_accepted_prefix_is_unknown(served: Served) -> None:
    log = Log(2, Signer(f"elsewhere/{uuid.UUID(int=9)}", bytes([9]) * 32))
    status, _, answer = served.post(log.body(0, 2), log.key)
    assert status == 404
    assert "expected a log added by the operator or an origin under 'consent-ledger/'" in answer.decode()


def test_without_accept_new_logs_every_unknown_origin_is_404(serve: Callable[..., Served]) -> None:
    served = serve(accept_prefix=None)
    log = Log(2)
    assert served.post(log.body(0, 2), log.key)[0] == 404


def test_the_prefix_alone_is_not_an_origin(served: Served) -> None:
    log = Log(1, Signer(PREFIX, bytes([5]) * 32))
    assert served.post(log.body(0, 1), log.key)[0] == 404


def test_new_log_submitted_from_a_size_above_zero_gets_409_zero_and_is_not_pinned(served: Served) -> None:
    log = Log(4)
    assert served.post(log.body(2, 4), log.key) == (409, SIZE_CONTENT_TYPE, b"0\n")
    assert served.store.latest(log.origin) is None


def test_a_key_header_that_does_not_sign_the_checkpoint_is_forbidden(served: Served) -> None:
    log = Log(2)
    other = ledger_helpers.signer(8).verifier  # another origin's key
    status, _, _ = served.post(log.body(0, 2), other)
    assert status == 403
    assert served.store.latest(log.origin) is None


def test_another_key_for_a_pinned_origin_is_forbidden(served: Served) -> None:
    log = Log(2)
    assert served.post(log.body(0, 2), log.key)[0] == 200
    impostor = Log(3, Signer(log.origin, bytes([99]) * 32))  # same origin, another key
    status, _, answer = served.post(impostor.body(2, 3, proof=[]), impostor.key)
    assert status == 403
    assert f"expected the pinned key {log.key}" in answer.decode()
    # Without the header the pinned key is used, and it signed nothing here.
    assert served.post(impostor.body(2, 3, proof=[]))[0] == 403
    assert served.store.latest(log.origin) == (2, log.root(2))


def test_a_known_log_needs_no_key_header(served: Served) -> None:
    log = Log(5)
    assert served.post(log.body(0, 2), log.key)[0] == 200
    status, _, answer = served.post(log.body(2, 5))
    assert status == 200
    _cosigned(served, log.notes[5], answer)


# --- growth, conflicts, proofs ---------------------------------------------------------


def test_growth_with_a_consistency_proof_is_cosigned(served: Served) -> None:
    log = Log(13)
    assert served.post(log.body(0, 3), log.key)[0] == 200
    status, _, answer = served.post(log.body(3, 13), log.key)
    assert status == 200
    assert _cosigned(served, log.notes[13], answer) == NOW
    assert served.store.latest(log.origin) == (13, log.root(13))


def test_the_same_checkpoint_again_is_cosigned_again(served: Served) -> None:
    log = Log(3)
    assert served.post(log.body(0, 3), log.key)[0] == 200
    status, _, answer = served.post(log.body(3, 3), log.key)
    assert status == 200
    _cosigned(served, log.notes[3], answer)


@pytest.mark.parametrize("old", [0, 2, 4])
def test_an_old_size_other_than_the_cosigned_one_gets_409_with_that_size(served: Served, old: int) -> None:
    log = Log(6)
    assert served.post(log.body(0, 3), log.key)[0] == 200
    status, content_type, answer = served.post(log.body(old, 6), log.key)
    assert (status, content_type, answer) == (409, SIZE_CONTENT_TYPE, b"3\n")
    assert _evidence(served) == []  # an ordinary conflict is not misbehaviour


def test_a_bad_consistency_proof_is_422_and_kept_as_evidence(served: Served) -> None:
    log = Log(10)
    assert served.post(log.body(0, 3), log.key)[0] == 200
    tampered = log.proof(3, 10)
    tampered[-1] = bytes(32)
    body = log.body(3, 10, proof=tampered)
    status, _, answer = served.post(body, log.key)
    assert status == 422
    assert "consistency" in answer.decode()
    assert served.store.latest(log.origin) == (3, log.root(3))
    [(origin, reason, request)] = _evidence(served)
    assert (origin, request) == (log.origin, body)
    assert reason.startswith("inconsistent: consistency: proof does not lead to the root")


def test_a_missing_proof_is_422(served: Served) -> None:
    log = Log(10)
    assert served.post(log.body(0, 3), log.key)[0] == 200
    assert served.post(log.body(3, 10, proof=[]), log.key)[0] == 422


def test_another_root_at_the_cosigned_size_is_409_and_kept_as_evidence(served: Served) -> None:
    log = Log(4)
    fork = Log(4, log.signer)  # same key, other events: another history
    assert served.post(log.body(0, 4), log.key)[0] == 200
    body = fork.body(4, 4)
    assert served.post(body, log.key) == (409, SIZE_CONTENT_TYPE, b"4\n")
    [(origin, reason, request)] = _evidence(served)
    assert (origin, reason, request) == (log.origin, "fork: another root at the cosigned size 4", body)
    with pytest.raises(LedgerForked) as raised:
        cosign(served.witness, note=fork.notes[4], log_key=log.key, proof_from=fork.proofs_to(4))
    assert raised.value.size == 4


def test_a_fork_from_an_earlier_size_is_422_and_kept_as_evidence(served: Served) -> None:
    log = Log(6)
    fork = Log(6, log.signer)
    assert served.post(log.body(0, 3), log.key)[0] == 200
    assert served.post(fork.body(3, 6), log.key)[0] == 422
    assert len(_evidence(served)) == 1


def test_evidence_keeps_the_first_ones_per_log(
    witness_db: tuple[Path, Cosigner], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "EVIDENCE_PER_LOG", 3)
    store = WitnessStore(witness_db[0], accept_prefix=PREFIX)
    log = Log(4)
    store.add_checkpoint(parse_submission(log.body(0, 2)), offered_key=log.key, request=b"first", now=NOW)
    for i in range(5):
        body = log.body(2, 4, proof=[bytes([i]) * 32])
        with pytest.raises(InconsistentProof):
            store.add_checkpoint(parse_submission(body), offered_key=None, request=body, now=NOW + i)
    with sqlite3.connect(witness_db[0]) as conn:
        received = [r for (r,) in conn.execute("SELECT received FROM evidence ORDER BY id")]
    assert received == [NOW, NOW + 1, NOW + 2]


# --- malformed requests ------------------------------------------------------------------


def _malformed_bodies() -> list[tuple[str, Callable[[Log], bytes]]]:
    def replace_first(old: bytes, new: bytes) -> Callable[[Log], bytes]:
        return lambda log: log.body(0, 2).replace(old, new, 1)

    return [
        ("empty", lambda log: b""),
        ("no empty line", lambda log: b"old 0\n"),
        ("no checkpoint", lambda log: b"old 0\n\n"),
        ("not old", replace_first(b"old 0", b"new 0")),
        ("leading zero", replace_first(b"old 0", b"old 00")),
        ("negative", replace_first(b"old 0", b"old -1")),
        ("above 2^63-1", replace_first(b"old 0", b"old 9223372036854775808")),
        ("two spaces", replace_first(b"old 0", b"old  0")),
        ("not UTF-8", replace_first(b"old 0\n", b"old 0\n\xff\n")),
        ("proof not base64", lambda log: log.body(1, 2).replace(b"\n\n", b"\n!!!!\n\n", 1)),
        ("proof hash too short", lambda log: log.body(1, 2).replace(b"\n\n", b"\nAAAA\n\n", 1)),
        ("proof from old size 0", lambda log: format_submission(0, [bytes(32)], log.notes[2])),
        ("old size above the checkpoint's", lambda log: log.body(2, 2).replace(b"old 2", b"old 3", 1)),
        ("no signature", lambda log: b"old 0\n\n" + log.notes[2].split("\n\n")[0].encode() + b"\n\n"),
        (
            "checkpoint without root",
            lambda log: b"old 0\n\n" + log.origin.encode() + b"\n2\n\n\xe2\x80\x94 x AAAAAAA=\n",
        ),
    ]


@pytest.mark.parametrize(("case", "make"), _malformed_bodies(), ids=[case for case, _ in _malformed_bodies()])
def test_malformed_bodies_are_400(served: Served, case: str, make: Callable[[Log], bytes]) -> None:
    log = Log(2)
    status, _, answer = served.post(make(log), log.key)
    assert status == 400, (case, answer)
    assert served.store.latest(log.origin) is None


def test_a_malformed_key_header_is_400(served: Served) -> None:
    log = Log(1)
    conn = http.client.HTTPConnection("127.0.0.1", served.server.server_port, timeout=30)
    conn.request("POST", "/add-checkpoint", body=log.body(0, 1), headers={LOG_KEY_HEADER: "not a key"})
    response = conn.getresponse()
    assert response.status == 400
    assert f"{LOG_KEY_HEADER} header: verifier key: expected name+keyid+base64" in response.read().decode()
    conn.close()


def test_more_than_63_proof_lines_are_400(served: Served) -> None:
    log = Log(2)
    proof_lines = "".join(base64.b64encode(bytes(32)).decode() + "\n" for _ in range(MAX_PROOF_LINES + 1))
    body = f"old 1\n{proof_lines}\n{log.notes[2]}".encode()
    status, _, answer = served.post(body, log.key)
    assert status == 400
    assert answer == b"proof: expected at most 63 lines, got 64\n"


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_above_16_kib_is_413(served: Served, chunked: bool) -> None:
    """Chunked too: werkzeug cuts such a body at the limit, which would answer 400, not 413."""
    log = Log(2)
    body = log.body(0, 2)
    body += b"x" * (16 * 1024 + 1 - len(body))
    conn = http.client.HTTPConnection("127.0.0.1", served.server.server_port, timeout=30)
    payload = iter([body]) if chunked else body
    conn.request(
        "POST", "/add-checkpoint", body=payload, headers={LOG_KEY_HEADER: str(log.key)}, encode_chunked=chunked
    )
    response = conn.getresponse()
    assert response.status == 413
    assert response.headers.get_content_type() == "text/plain"
    conn.close()
    assert served.store.latest(log.origin) is None


def test_only_post_add_checkpoint_is_served(served: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.server.server_port, timeout=30)
    conn.request("GET", "/add-checkpoint")
    response = conn.getresponse()
    response.read()
    assert (response.status, response.headers["Allow"]) == (405, "POST")
    conn.close()
    assert served.post(Log(1).body(0, 1), path="/logs")[0] == 404


def test_parse_submission_reads_what_format_submission_writes() -> None:
    log = Log(5)
    parsed = parse_submission(log.body(3, 5))
    assert (parsed.old_size, list(parsed.proof), parsed.note) == (3, log.proof(3, 5), log.notes[5])
    with pytest.raises(MalformedSubmission, match="expected at most 63 lines, got 64"):
        parse_submission(
            b"old 1\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\n" + log.notes[5].encode()
        )


# --- the client ---------------------------------------------------------------------------


class CountingProofs:
    """proof_from for cosign(), remembering which sizes it was asked for."""

    def __init__(self, log: Log, size: int) -> None:
        self.log, self.size, self.asked = log, size, list[int]()

    def __call__(self, old: int) -> list[bytes]:
        self.asked.append(old)
        return self.log.proof(old, self.size)


def test_cosign_adds_a_new_log_then_follows_its_growth(served: Served) -> None:
    log = Log(9)
    first = CountingProofs(log, 5)
    lines = cosign(served.witness, note=log.notes[5], log_key=log.key, proof_from=first)
    assert first.asked == []  # 409 "0", then old 0: no proof
    assert _cosigned(served, log.notes[5], lines.encode()) == NOW
    grown = CountingProofs(log, 9)
    lines = cosign(served.witness, note=log.notes[9], log_key=log.key, proof_from=grown)
    assert grown.asked == [5]
    assert lines.count("\n") == 1 and lines.startswith(f"\u2014 {WITNESS_NAME} ")
    assert served.store.latest(log.origin) == (9, log.root(9))


def test_cosign_with_the_right_guess_takes_one_round_trip(served: Served) -> None:
    log = Log(7)
    cosign(served.witness, note=log.notes[4], log_key=log.key, proof_from=log.proofs_to(4), guess=0)
    assert served.post(log.body(4, 4))[0] == 200
    proofs = CountingProofs(log, 7)
    cosign(served.witness, note=log.notes[7], log_key=log.key, proof_from=proofs, guess=4)
    assert proofs.asked == [4]


def test_cosign_of_a_smaller_tree_than_the_witness_has_raises_rolled_back(served: Served) -> None:
    log = Log(10)
    cosign(served.witness, note=log.notes[10], log_key=log.key, proof_from=CountingProofs(log, 10))
    with pytest.raises(LedgerRolledBack) as raised:
        cosign(served.witness, note=log.notes[6], log_key=log.key, proof_from=CountingProofs(log, 6), guess=3)
    assert (raised.value.witness_size, raised.value.size) == (10, 6)
    assert str(raised.value) == "witness: expected a cosigned size of at most 6, got 10"


def test_cosign_reports_refusals_with_their_status(served: Served) -> None:
    log = Log(3, Signer(f"elsewhere/{uuid.UUID(int=3)}", bytes([3]) * 32))
    with pytest.raises(WitnessRefused) as raised:
        cosign(served.witness, note=log.notes[3], log_key=log.key, proof_from=log.proofs_to(3), guess=0)
    assert raised.value.status == 404


def test_cosign_refuses_a_cosignature_by_another_key(served: Served) -> None:
    log = Log(2)
    expected = Witness(Cosigner.generate(WITNESS_NAME).key, served.url)  # same name, other key
    with pytest.raises(WitnessUnavailable, match="expected a cosignature by"):
        cosign(expected, note=log.notes[2], log_key=log.key, proof_from=log.proofs_to(2), guess=0)


def test_cosign_when_nobody_listens_is_unavailable(served: Served) -> None:
    port = served.server.server_port
    served.server.shutdown()
    served.server.server_close()
    log = Log(1)
    with pytest.raises(WitnessUnavailable):
        cosign(
            Witness(served.cosigner.key, f"http://127.0.0.1:{port}"),
            note=log.notes[1],
            log_key=log.key,
            proof_from=log.proofs_to(1),
            timeout=2,
        )


def _fake_witness(servers: list[BaseWSGIServer], answer: Callable[[], Response]) -> str:
    app = Flask(__name__)
    app.add_url_rule("/add-checkpoint", "add", answer, methods=["POST"])
    return f"http://127.0.0.1:{_start(app, servers).server_port}"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda: redirect("http://127.0.0.2:1/add-checkpoint", code=307), "expected 200 or 409, got 307"),
        (lambda: redirect("/elsewhere", code=302), "expected 200 or 409, got 302"),
        (lambda: Response("x" * (65 * 1024)), "expected an answer of at most 65536 bytes"),
        (lambda: Response("oops", status=500), "expected 200 or 409, got 500"),
        (lambda: Response("3\n", status=409), "409 with text/html, expected text/x.tlog.size"),
        (lambda: Response("three\n", status=409, content_type=SIZE_CONTENT_TYPE), "size answer"),
        (lambda: Response("not a signature\n"), "expected signature lines"),
    ],
    ids=["redirect elsewhere", "redirect here", "huge", "500", "409 untyped", "409 not a size", "200 not lines"],
)
def test_cosign_treats_answers_outside_the_spec_as_unavailable(
    servers: list[BaseWSGIServer], answer: Callable[[], Response], message: str
) -> None:
    url = _fake_witness(servers, answer)
    log = Log(1)
    with pytest.raises(WitnessUnavailable, match=message):
        cosign(
            Witness(Cosigner.generate(WITNESS_NAME).key, url),
            note=log.notes[1],
            log_key=log.key,
            proof_from=log.proofs_to(1),
        )


def test_cosign_gives_up_after_three_round_trips(servers: list[BaseWSGIServer]) -> None:
    sizes = iter([1, 2, 3, 4])
    url = _fake_witness(servers, lambda: Response(f"{next(sizes)}\n", status=409, content_type=SIZE_CONTENT_TYPE))
    log = Log(9)
    with pytest.raises(WitnessUnavailable, match="within 3 round trips"):
        cosign(
            Witness(Cosigner.generate(WITNESS_NAME).key, url),
            note=log.notes[9],
            log_key=log.key,
            proof_from=log.proofs_to(9),
        )


def test_witness_config_form_round_trips() -> None:
    key = Cosigner.generate(WITNESS_NAME).key
    witness = Witness.parse(f"{key} https://witness.example.org/consent")
    assert witness == Witness(key, "https://witness.example.org/consent")
    assert Witness.parse(str(witness)) == witness
    assert witness.endpoint == "https://witness.example.org/consent/add-checkpoint"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{key}", "expected '<verifier key> <url>'"),
        ("{key}  http://w.example", "expected '<verifier key> <url>'"),
        ("{key} file:///etc/passwd", "expected http(s)://host"),
        ("{key} ftp://w.example", "expected http(s)://host"),
        ("{key} http://user:pw@w.example", "expected no query, fragment or credentials"),
        ("{key} http://w.example/?a=b", "expected no query, fragment or credentials"),
        ("witness+00000000+AAAA http://w.example", "witness key"),
    ],
)
def test_witness_config_form_refuses_what_cannot_work(text: str, message: str) -> None:
    key = Cosigner.generate(WITNESS_NAME).key
    with pytest.raises(ConfigError, match=re.escape(message)):
        Witness.parse(text.format(key=key))


def test_the_client_imports_neither_flask_nor_the_server() -> None:
    code = (
        "import sys, consent.witness.client; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'werkzeug', 'sqlalchemy'}"
        " or m == 'consent.witness.server'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


# --- atomicity and persistence -------------------------------------------------------------


def test_concurrent_submissions_never_roll_a_log_back(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads race to extend the same stored size; exactly one may win each time.

    The proof check is slowed down so that every request lingers between reading the
    stored size and writing the new one: without an atomic check-and-update, two requests
    from the same old size would both be accepted, and the second would roll the first back.
    """

    def slow_verify(*args: Any) -> None:
        threading.Event().wait(0.002)
        verify_consistency(*args)

    monkeypatch.setattr(store_module, "verify_consistency", slow_verify)
    log = Log(40)
    assert served.post(log.body(0, 1), log.key)[0] == 200
    accepted: list[tuple[int, int]] = []
    failures: list[str] = []
    done = threading.Event()

    def submit(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - reproducible sizes, not a secret
        for _ in range(10):
            latest = served.store.latest(log.origin)
            assert latest is not None
            old = latest[0]
            if old == 40:
                return
            new = rng.randint(old + 1, min(40, old + 4))
            status, _, answer = served.post(log.body(old, new))
            if status == 200:
                accepted.append((old, new))
            elif status != 409:
                failures.append(f"{status} {answer!r}")

    def watch() -> None:
        seen = 0
        while not done.is_set():
            latest = served.store.latest(log.origin)
            size = latest[0] if latest else 0
            if size < seen:
                failures.append(f"stored size went back from {seen} to {size}")
            seen = max(seen, size)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=submit, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert failures == []
    olds = [old for old, _ in accepted]
    assert len(olds) == len(set(olds)), f"two requests extended the same size: {sorted(accepted)}"
    chain = sorted(accepted, key=lambda pair: pair[1])
    assert [old for old, _ in chain] == [1, *(new for _, new in chain[:-1])]
    assert served.store.latest(log.origin) == (chain[-1][1], log.root(chain[-1][1]))


def test_the_state_survives_a_restart(serve: Callable[..., Served], servers: list[BaseWSGIServer]) -> None:
    log = Log(8)
    first = serve()
    assert first.post(log.body(0, 5), log.key)[0] == 200
    first.server.shutdown()
    first.server.server_close()
    servers.remove(first.server)
    second = serve()
    assert second.post(log.body(0, 8), log.key) == (409, SIZE_CONTENT_TYPE, b"5\n")
    lines = cosign(second.witness, note=log.notes[8], log_key=log.key, proof_from=log.proofs_to(8))
    assert _cosigned(second, log.notes[8], lines.encode()) == NOW


# --- the command line -------------------------------------------------------------------------


def test_init_prints_the_witness_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    runner = CliRunner()
    result = runner.invoke(witness_group, ["init", "--db", str(path), "--name", WITNESS_NAME])
    assert result.exit_code == 0, result.output
    key = WitnessKey.parse(result.stdout.strip())
    assert key == WitnessStore(path).cosigner().key and key.name == WITNESS_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    again = runner.invoke(witness_group, ["init", "--db", str(path), "--name", WITNESS_NAME])
    assert again.exit_code == 1
    assert "expected no file, got an existing one" in again.output
    assert path.read_bytes() == before


def test_init_refuses_a_name_with_a_space(tmp_path: Path) -> None:
    result = CliRunner().invoke(witness_group, ["init", "--db", str(tmp_path / "w.db"), "--name", "my witness"])
    assert result.exit_code == 1 and "key name: expected no spaces or '+'" in result.output
    assert not (tmp_path / "w.db").exists()


def test_add_log_pins_a_key_that_then_needs_no_header(
    witness_db: tuple[Path, Cosigner], servers: list[BaseWSGIServer]
) -> None:
    log = Log(3, Signer(f"elsewhere/{uuid.UUID(int=4)}", bytes([4]) * 32))
    runner = CliRunner()
    result = runner.invoke(witness_group, ["add-log", "--db", str(witness_db[0]), str(log.key)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(witness_group, ["add-log", "--db", str(witness_db[0]), str(log.key)])
    assert again.exit_code == 1 and "already witnessed" in again.output
    app = create_witness_app(witness_db[0], None, clock=lambda: NOW)
    served = Served(_start(app, servers), *witness_db)
    assert served.post(log.body(1, 3)) == (409, SIZE_CONTENT_TYPE, b"0\n")
    status, _, answer = served.post(log.body(0, 3))
    assert status == 200
    _cosigned(served, log.notes[3], answer)


def test_serving_a_missing_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WitnessDatabaseError, match="cannot open the witness database"):
        create_witness_app(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()


def test_the_console_script_runs_the_witness_without_the_apps_configuration(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env["CONSENT_CONFIG"] = str(tmp_path / "absent.toml")
    script = Path(sys.executable).with_name("consent")
    out = subprocess.run(
        [script, "witness", "init", "--db", str(tmp_path / "w.db"), "--name", WITNESS_NAME],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert WitnessKey.parse(out.stdout.strip()).name == WITNESS_NAME


def test_a_file_that_is_not_a_witness_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database, " * 100)
    with pytest.raises(WitnessDatabaseError, match="expected a witness database, got file is not a database"):
        WitnessStore(path)
