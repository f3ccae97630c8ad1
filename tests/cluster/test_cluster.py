"""The scale-out topology under load: 2 Rasa servers + 2 action servers behind nginx, sharing
PostgreSQL (conversations, places) and Redis (locks). One Rasa server is killed (SIGKILL) while
requests are in flight; every conversation must still finish with its state intact, and the
tracker store must hold every user turn exactly once, in order, each followed by the bot's answer.

Client rule: nginx passes a request to the other server only when it could not deliver it
(connection refused), never a POST already delivered. A 502, a broken connection or the "service
indisponible" answer mean "outcome unknown" (the server may have saved the turn just before dying).
The client then waits until no server holds the conversation's Redis lock (a crashed server's
ticket expires after TICKET_LOCK_LIFETIME), looks the turn up in the tracker store (its `turn_id`
travels in the message metadata, which Rasa stores with the user event), and re-sends only if no
server recorded it; if one did, the recorded answer is the answer. So no turn is lost and none is
answered twice, and the tracker store is checked for both at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import statistics
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import redis
import sqlalchemy as sa

from rasa_ext.launch import UNAUTHORIZED
from rasa_ext.rest_channel import UNAVAILABLE
from scripts.cluster.topology import NOT_FOUND, Cluster
from scripts.supervisor import free_port, post_json
from tests.pg import temporary_database

pytestmark = [pytest.mark.server, pytest.mark.postgres]

CONVERSATIONS = 50
KILL_AFTER_FRACTION = 0.35  # of all turns answered
MAX_ATTEMPTS = 10
SETTLE_TIMEOUT = 90  # s; a crashed server's lock ticket expires after TICKET_LOCK_LIFETIME (30 s)
# SIGKILL (a crash) by default; CLUSTER_TEST_SIGNAL=TERM for a graceful stop (rolling restart).
KILL_SIGNAL = signal.Signals["SIG" + (os.environ.get("CLUSTER_TEST_SIGNAL") or "KILL").upper()]
REQUEST_TIMEOUT = 90  # s, longer than nginx's proxy_read_timeout (60 s)
# The edge (see also tests/cluster/test_cluster_edge.py): the HTTP API on, CORS for one site, and a purge
# every 18 s while the servers run (CONVERSATION_RETENTION_DAYS: 90 by default).
API_TOKEN = f"cluster-test-{uuid.uuid4().hex}"
ALLOWED_ORIGIN = "https://www.allier.fr"
PURGE_INTERVAL_HOURS = 0.005

# (answer given, name expected in the verdict)
DEPARTEMENTS = [
    ("Allier", "Allier"),
    ("03", "Allier"),
    ("Cantal", "Cantal"),
    ("15", "Cantal"),
    ("Drôme", "Drôme"),
    ("Isère", "Isère"),
    ("Savoie", "Savoie"),
    ("63", "Puy-de-Dôme"),
    ("Ardèche", "Ardèche"),
    ("Haute-Loire", "Haute-Loire"),
    ("42", "Loire"),
    ("Ain", "Ain"),
]
# The questions a conseil départemental gets, numbered as it reads them (no questions 2-3 of
# the association path).
Q = {
    1: "1. Quelle structure porte le projet",
    2: "2. Le groupement comprend-il Pôle emploi",
    3: "3. Quels autres partenaires",
    4: "4. Le projet place-t-il les bénéficiaires",
    5: "5. Le projet reflète-t-il",
    6: "6. Le projet s'inscrit-il",
    7: "7. Le projet explicite-t-il",
    8: "8. Dans quel département",
}
QUESTION_NUMBER = re.compile(r"(?m)^(\d{1,2})\. ")
PARTNERS = "la CAF et la mission locale"  # answer to question 3 (optional partners)
ELIGIBLE = "correspond aux conditions énoncées"
NOT_ELIGIBLE = "ne correspond pas encore aux conditions"


@dataclass
class Turn:
    message: str
    expect: list[str]  # every string must be in the answer
    question: int | None = None  # the question number the answer must ask (and no other)
    forbid: list[str] = field(default_factory=list)


def script(index: int) -> list[Turn]:
    """A multi-turn conversation whose answers depend on its state (three kinds, varied)."""
    answer, name = DEPARTEMENTS[index % len(DEPARTEMENTS)]
    kind = index % 3
    test_start = [
        Turn("suis-je éligible ?", [Q[1]], 1),
        Turn("Le conseil départemental", [Q[2]], 2),
    ]
    expectations = [Turn("oui", [Q[n + 1]], n + 1) for n in (4, 5, 6)]
    if kind == 0:  # eligible, département given at the end
        return [
            *test_start,
            Turn("oui", [Q[3]], 3),
            Turn(PARTNERS, [Q[4]], 4),
            *expectations,
            Turn("oui", [Q[8]], 8),
            Turn(answer, [ELIGIBLE, name], forbid=[NOT_ELIGIBLE]),
        ]
    if kind == 1:  # Pôle emploi missing: the verdict names the unmet condition
        return [
            *test_start,
            Turn("non", [Q[3]], 3),
            Turn(PARTNERS, [Q[4]], 4),
            *expectations,
            Turn("oui", [Q[8]], 8),
            Turn(answer, [NOT_ELIGIBLE, "Pôle emploi (France Travail) dans le groupement", name]),
        ]
    # contact first: the département is remembered 9 turns later and not asked again
    return [
        Turn("qui contacter ?", ["Pour quel département"]),
        Turn(answer, [name]),
        *test_start,
        Turn("oui", [Q[3]], 3),
        Turn(PARTNERS, [Q[4]], 4),
        *expectations,
        Turn("oui", [ELIGIBLE, name], forbid=[Q[8], NOT_ELIGIBLE]),
    ]


@dataclass
class Stats:
    answered: int = 0
    in_flight: int = 0
    http_errors: Counter = field(default_factory=Counter)  # "502", "ClientError", "unavailable"
    resent: int = 0  # re-sent after checking that no server had recorded the turn
    recovered: int = 0  # recorded by a server that could not answer: answer read back
    latencies: list[float] = field(default_factory=list)
    settle_wait: float = 0.0  # s spent waiting for conversation locks to be free
    kill_time: float | None = None  # when the kill was decided
    killed_at: float | None = None  # when the process was dead
    in_flight_at_kill: int = 0
    failures: list[str] = field(default_factory=list)


class TrackerReader:
    """Reads Rasa's `events` table (the SQL tracker store) in PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True, pool_size=4)

    def events(self, sender: str) -> list[tuple[str, dict]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": sender},
            )
            return [(row.type_name, json.loads(row.data)) for row in rows]

    def turns(self, sender: str) -> list[tuple[str | None, str, list[str]]]:
        """(turn_id, text, bot texts until the next user event) for every user event."""
        result: list[tuple[str | None, str, list[str]]] = []
        for type_name, data in self.events(sender):
            if type_name == "user":
                turn_id = (data.get("metadata") or {}).get("turn_id")
                result.append((turn_id, data.get("text") or "", []))
            elif type_name == "bot" and result:
                result[-1][2].append(data.get("text") or "")
        return result

    def recorded_answer(self, sender: str, turn_id: str) -> str | None:
        for recorded_id, _, bot_texts in self.turns(sender):
            if recorded_id == turn_id:
                return "\n".join(bot_texts)
        return None

    def dispose(self) -> None:
        self.engine.dispose()


class LockWatcher:
    """Reads the Redis lock of a conversation (RedisLockStore's ticket lock)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.redis = redis.Redis.from_url(url)
        self.key_prefix = f"{prefix}:lock:" if prefix else "lock:"

    def busy(self, sender: str) -> bool:
        """Whether a server holds or waits for the lock: a live (unexpired) ticket exists."""
        raw = self.redis.get(self.key_prefix + sender)
        if not raw:
            return False
        now = time.time()
        return any(json.loads(ticket)["expires"] > now for ticket in json.loads(raw)["tickets"])

    async def wait_until_settled(self, sender: str, stats: Stats) -> None:
        """Waits until no server is processing a turn of `sender` (a crashed server's ticket
        expires after TICKET_LOCK_LIFETIME)."""
        started = time.monotonic()
        while await asyncio.to_thread(self.busy, sender):
            if time.monotonic() - started > SETTLE_TIMEOUT:
                raise AssertionError(
                    f"{sender}: conversation still locked after {SETTLE_TIMEOUT} s"
                )
            await asyncio.sleep(0.5)
        stats.settle_wait += time.monotonic() - started


def answer_problem(turn: Turn, answer: str) -> str | None:
    missing = [text for text in turn.expect if text not in answer]
    if missing:
        return f"missing {missing}"
    present = [text for text in turn.forbid if text in answer]
    if present:
        return f"unexpected {present}"
    if turn.question is not None:
        asked = {int(n) for n in QUESTION_NUMBER.findall(answer)}
        if asked != {turn.question}:
            return f"asks question(s) {sorted(asked)}, expected {turn.question}"
    return None


@dataclass
class Client:
    session: aiohttp.ClientSession
    webhook: str
    tracker: TrackerReader
    locks: LockWatcher
    stats: Stats


async def send_turn(client: Client, sender: str, index: int, message: str) -> str:
    """One turn, exactly once: re-sent only when no server recorded it."""
    stats = client.stats
    turn_id = f"{sender}:{index}"
    body = {"sender": sender, "message": message, "metadata": {"turn_id": turn_id}}
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            stats.resent += 1
        started = time.monotonic()
        stats.in_flight += 1
        try:
            async with client.session.post(client.webhook, json=body) as response:
                status = response.status
                replies = await response.json(content_type=None) if status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            status, replies = type(error).__name__, None
        finally:
            stats.in_flight -= 1
        texts = [reply.get("text", "") for reply in replies or []]
        if status == 200 and texts and UNAVAILABLE not in texts:
            stats.latencies.append(time.monotonic() - started)
            return "\n".join(texts)
        # Outcome unknown: the server that had it died (502: it may have saved the turn before
        # dying), or the turn failed (e.g. time-out waiting for the lock of a crashed server).
        # Once no server holds the conversation's lock, the tracker store has the final word.
        stats.http_errors["unavailable" if status == 200 else str(status)] += 1
        await client.locks.wait_until_settled(sender, stats)
        recorded = await asyncio.to_thread(client.tracker.recorded_answer, sender, turn_id)
        if recorded is not None and recorded and UNAVAILABLE not in recorded:
            stats.recovered += 1
            return recorded
        if recorded is not None:
            raise AssertionError(f"{turn_id} recorded without an answer: {recorded!r}")
        await asyncio.sleep(1 + attempt)
    raise AssertionError(f"{turn_id}: no answer after {MAX_ATTEMPTS} attempts")


async def converse(
    client: Client, sender: str, turns: list[Turn], sent: list[tuple[str, str]]
) -> None:
    for index, turn in enumerate(turns):
        sent.append((turn.message, ""))
        answer = await send_turn(client, sender, index, turn.message)
        sent[-1] = (turn.message, answer)
        client.stats.answered += 1
        problem = answer_problem(turn, answer)
        if problem:
            client.stats.failures.append(
                f"{sender} turn {index} ({turn.message!r}): {problem}\n{answer}"
            )
            return


async def kill_when(cluster: Cluster, stats: Stats, threshold: int) -> None:
    while stats.answered < threshold:
        await asyncio.sleep(0.05)
    stats.in_flight_at_kill = stats.in_flight
    stats.kill_time = time.time()
    await asyncio.to_thread(cluster.kill_rasa, 0, KILL_SIGNAL)
    stats.killed_at = time.time()


async def drive(
    cluster: Cluster,
    tracker: TrackerReader,
    locks: LockWatcher,
    scripts: dict[str, list[Turn]],
    sent: dict[str, list[tuple[str, str]]],
    stats: Stats,
) -> None:
    total = sum(len(turns) for turns in scripts.values())
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with AsyncExitStack() as stack:
        killer = asyncio.create_task(kill_when(cluster, stats, int(total * KILL_AFTER_FRACTION)))
        conversations = []
        for number, (sender, turns) in enumerate(scripts.items()):
            # Each visitor from an address of their own, as on the widget: nginx's rate limit is
            # per address, and these clients send their messages back to back (no reading
            # time), far faster than one person types.
            connector = aiohttp.TCPConnector(
                limit=0, force_close=True, local_addr=(visitor_address(number), 0)
            )
            session = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=timeout, connector=connector)
            )
            client = Client(session, cluster.webhook, tracker, locks, stats)
            conversations.append(converse(client, sender, turns, sent[sender]))
        await asyncio.gather(*conversations)
        await killer


def visitor_address(number: int) -> str:
    """A loopback address of its own for visitor `number` (Linux routes all of 127/8 locally)."""
    return f"127.0.{1 + number // 250}.{1 + number % 250}"


def upstream_counts(access_log: Path, since: float) -> tuple[Counter, int]:
    """(final upstream of each webhook POST answered 200 after `since`, POSTs nginx passed on)."""
    served: Counter = Counter()
    passed_on = 0
    for line in access_log.read_text(errors="replace").splitlines():
        if "POST /webhooks/rest/webhook" not in line:
            continue
        stamp = float(line.split(" ", 1)[0])
        upstreams = re.search(r'up="([^"]*)"', line).group(1)
        if "," in upstreams:
            passed_on += 1
        if stamp >= since and " 200 up=" in line:
            served[upstreams.split(",")[-1].strip()] += 1
    return served, passed_on


def lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    # The servers run in their own sessions: on SIGTERM, unwind so that they are stopped too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with temporary_database("spie_cluster") as url:
            running = Cluster(
                tmp_path_factory.mktemp("cluster"),
                tracker_db_url=url,
                database_url=url,
                redis_key_prefix=prefix,
                port=free_port(),
                cors=[ALLOWED_ORIGIN],
                env_overrides={
                    "RASA_API_TOKEN": API_TOKEN,
                    "PURGE_INTERVAL_HOURS": str(PURGE_INTERVAL_HOURS),
                },
            )
            if not running.model.exists():
                pytest.fail(f"{running.model} is missing: run `make model` first")
            started = time.monotonic()
            running.start()
            print(f"\ncluster started in {time.monotonic() - started:.0f} s")
            try:
                yield running
            finally:
                running.stop()
                _delete_redis_keys(running.redis_url, prefix)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(*_: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not stop the clean-up
    raise KeyboardInterrupt


def _delete_redis_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def test_socketio_goes_through_nginx_with_websocket_upgrade(cluster: Cluster):
    async def handshake() -> str:
        async with aiohttp.ClientSession() as session:
            url = f"{cluster.url}/socket.io/?EIO=4&transport=websocket"
            async with session.ws_connect(url, timeout=10) as ws:
                message = await ws.receive(timeout=10)
                return message.data

    opening = asyncio.run(handshake())
    assert opening.startswith("0{") and '"sid"' in opening  # Engine.IO v4 open packet


def test_conversations_survive_a_rasa_server_killed_in_flight(cluster: Cluster):
    scripts = {f"cluster-{i:03d}-{uuid.uuid4().hex[:6]}": script(i) for i in range(CONVERSATIONS)}
    sent: dict[str, list[tuple[str, str]]] = {sender: [] for sender in scripts}
    stats = Stats()
    tracker = TrackerReader(cluster.tracker_db_url)
    locks = LockWatcher(cluster.redis_url, cluster.redis_key_prefix)
    started = time.monotonic()
    try:
        asyncio.run(drive(cluster, tracker, locks, scripts, sent, stats))
        elapsed = time.monotonic() - started

        # The tracker store: every message sent recorded exactly once, in order, each answered.
        lost, twice, unanswered, disorder, other_answer = [], [], [], [], []
        for sender, exchanges in sent.items():
            recorded = tracker.turns(sender)
            expected = [(f"{sender}:{i}", message) for i, (message, _) in enumerate(exchanges)]
            got = [(turn_id, text) for turn_id, text, _ in recorded]
            counts = Counter(turn_id for turn_id, _ in got)
            twice += [turn_id for turn_id, n in counts.items() if n > 1]
            lost += [turn_id for turn_id, _ in expected if turn_id not in counts]
            unanswered += [turn_id for turn_id, _, bot in recorded if not bot]
            if got != expected:
                disorder.append(sender)
                continue
            # the answer each client got is the one recorded for that turn
            other_answer += [
                turn_id
                for (turn_id, _, bot), (_, answer) in zip(recorded, exchanges, strict=True)
                if lines("\n".join(bot)) != lines(answer)
            ]
    finally:
        tracker.dispose()

    turns = sum(len(exchanges) for exchanges in sent.values())
    survivor = f"127.0.0.1:{cluster.rasa_ports[1]}"
    served_after_kill, passed_on = upstream_counts(cluster.access_log, (stats.killed_at or 0) + 1)
    latencies = sorted(stats.latencies)
    print(
        f"\n{CONVERSATIONS} conversations, {turns} turns in {elapsed:.1f} s "
        f"({turns / elapsed:.1f} turns/s); latency median {statistics.median(latencies):.2f} s, "
        f"p95 {latencies[int(len(latencies) * 0.95)]:.2f} s, max {latencies[-1]:.2f} s\n"
        f"rasa server 1 stopped ({KILL_SIGNAL.name}) after {int(turns * KILL_AFTER_FRACTION)} answers, "
        f"{stats.in_flight_at_kill} requests in flight\n"
        f"failed attempts seen by clients: {dict(stats.http_errors) or 0}; "
        f"re-sent (not recorded anywhere): {stats.resent}; "
        f"answer read back (recorded, reply lost): {stats.recovered}; "
        f"waiting for locks to be free: {stats.settle_wait:.0f} s in all\n"
        f"POSTs nginx passed to the other server (connection refused): {passed_on}; "
        f"answered after the kill by: {dict(served_after_kill)}\n"
        f"tracker store: lost {len(lost)}, twice {len(twice)}, unanswered {len(unanswered)}, "
        f"out of order {len(disorder)}, answer differing from the recorded one {len(other_answer)}"
    )
    assert not stats.failures, "\n\n".join(stats.failures[:5])
    assert "429" not in stats.http_errors, "the rate limit must never hit a real conversation"
    assert all(len(sent[s]) == len(scripts[s]) for s in scripts), "a conversation did not finish"
    assert not lost, f"turns lost: {lost[:10]}"
    assert not twice, f"turns answered twice: {twice[:10]}"
    assert not unanswered, f"turns without an answer: {unanswered[:10]}"
    assert not disorder, f"user turns recorded out of order: {disorder[:10]}"
    assert not other_answer, f"answers differing from the tracker: {other_answer[:10]}"
    assert stats.kill_time is not None and stats.in_flight_at_kill > 0
    assert cluster.rasa_servers[0].popen.poll() is not None  # really dead
    assert set(served_after_kill) <= {survivor}, served_after_kill
    assert served_after_kill[survivor] > 0


# --- the edge: HTTP API, CORS, retention -------------------------------------------------


def api_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_the_http_api_is_internal_and_its_token_never_shown(cluster: Cluster):
    bearer = {"Authorization": f"Bearer {API_TOKEN}"}
    sender = f"api-{uuid.uuid4().hex[:8]}"
    status, replies = post_json(cluster.webhook, {"sender": sender, "message": "bonjour"})
    assert status == 200 and replies

    # the internal port, token in the header: the API answers
    status, body = api_get(f"{cluster.api_url}/status", bearer)
    assert status == 200 and body["model_file"].endswith(".tar.gz")
    status, tracker = api_get(f"{cluster.api_url}/conversations/{sender}/tracker", bearer)
    assert status == 200 and "bonjour" in [e.get("text") for e in tracker["events"]]
    # no header, or Rasa's ?token=: refused in French
    for url, headers in [
        (f"{cluster.api_url}/status", {}),
        (f"{cluster.api_url}/status?token={API_TOKEN}", {}),
    ]:
        assert api_get(url, headers) == (401, {"error": UNAUTHORIZED})
    # the public port: no API path at all, even with the token
    for path in ("/status", f"/conversations/{sender}/tracker", "/model", "/"):
        assert api_get(cluster.url + path, bearer) == (404, {"error": NOT_FOUND}), path

    # the token is on no command line (ps) and in no access log
    command_lines = [
        path.read_bytes() for path in Path("/proc").glob("[0-9]*/cmdline") if _readable(path)
    ]
    rasa_pids = [  # the servers still running (the test above kills one)
        process.popen.pid
        for process in cluster.rasa_servers
        if process.popen and process.popen.poll() is None
    ]
    assert rasa_pids and all(
        b"rasa_ext.launch" in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in rasa_pids
    )
    assert not [line for line in command_lines if API_TOKEN.encode() in line]
    time.sleep(0.5)
    log = cluster.access_log.read_text(errors="replace")
    assert "GET /status" in log and API_TOKEN not in log


def _readable(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:  # the process ended meanwhile
        return False
    return True


def test_cors_allows_the_configured_origins_exactly(cluster: Cluster):
    def preflight(origin: str) -> str | None:
        request = urllib.request.Request(
            cluster.webhook,
            method="OPTIONS",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.headers.get("Access-Control-Allow-Origin")

    assert preflight(ALLOWED_ORIGIN) == ALLOWED_ORIGIN
    for other in (
        f"{ALLOWED_ORIGIN}.evil.example",
        "https://evil.example",
        "https://www.allier.fr:8443",
    ):
        assert preflight(other) is None, other


def test_old_events_are_purged_while_the_cluster_runs(cluster: Cluster):
    """Backdated events, written while the servers run, are gone at the next scheduled purge."""
    now = time.time()
    rows = [  # (sender, age in days, text)
        ("purge-gone", 120, "très ancien"),
        ("purge-returning", 100, "ancien"),
        ("purge-returning", 1, "récent"),
    ]
    engine = sa.create_engine(cluster.tracker_db_url, future=True)
    try:
        with engine.begin() as connection:
            for sender, age, text in rows:
                stamp = now - age * 86400
                connection.execute(
                    sa.text(
                        "INSERT INTO events (sender_id, type_name, timestamp, data) "
                        "VALUES (:s, 'user', :t, :d)"
                    ),
                    {
                        "s": sender,
                        "t": stamp,
                        "d": json.dumps({"event": "user", "text": text, "timestamp": stamp}),
                    },
                )

        def texts_left() -> list[tuple[str, str]]:
            with engine.connect() as connection:
                found = connection.execute(
                    sa.text(
                        "SELECT sender_id, data FROM events WHERE sender_id LIKE 'purge-%' ORDER BY id"
                    )
                )
                return [(row.sender_id, json.loads(row.data)["text"]) for row in found]

        deadline = time.monotonic() + PURGE_INTERVAL_HOURS * 3600 * 3 + 30
        while len(texts_left()) > 1 and time.monotonic() < deadline:
            time.sleep(1)
        assert texts_left() == [("purge-returning", "récent")]
    finally:
        engine.dispose()


def test_a_repeated_message_id_is_played_once_across_the_servers(cluster: Cluster):
    """A retry may reach the other server (round robin, or the first one died): the turn
    records are in Redis, so the repeat gets the recorded answer, on either server, even while
    the first run is still in flight. Counted in the tracker store (PostgreSQL)."""
    for server in cluster.rasa_servers:  # the test above killed one
        if server.popen is None or server.popen.poll() is not None:
            server.start()
    webhooks = [f"http://127.0.0.1:{port}/webhooks/rest/webhook" for port in cluster.rasa_ports]

    async def send(session: aiohttp.ClientSession, url: str, body: dict) -> list[dict]:
        async with session.post(url, json=body, timeout=REQUEST_TIMEOUT) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def scenario(sender: str) -> tuple[list, list, list]:
        question = {"sender": sender, "message": "c'est quand la date limite ?"}
        async with aiohttp.ClientSession() as session:
            first = await send(session, webhooks[0], dict(question, message_id="retry-1"))
            retry = await send(session, webhooks[1], dict(question, message_id="retry-1"))
            together = await asyncio.gather(
                *(send(session, url, dict(question, message_id="both-1")) for url in webhooks)
            )
        return first, retry, together

    sender = f"cluster-idem-{uuid.uuid4().hex[:8]}"
    first, retry, together = asyncio.run(scenario(sender))
    tracker = TrackerReader(cluster.tracker_db_url)
    try:
        user_turns = [data["text"] for kind, data in tracker.events(sender) if kind == "user"]
    finally:
        tracker.dispose()
    assert "11 octobre 2021" in "\n".join(reply.get("text", "") for reply in first)
    assert retry == first
    assert together[0] == together[1]
    assert user_turns == ["c'est quand la date limite ?"] * 2  # retry-1 once, both-1 once
