"""The scale-out topology on loopback: action servers, Rasa servers and nginx in front of them.

    PostgreSQL (tracker + places/contacts)      Redis (conversation locks)
                 |                                        |
    client -> nginx :8000 --REST, round robin--> rasa run #1 .. #N  --> nginx :8050 (internal)
                        \\--/socket.io/, ip_hash-->  (same servers)      least_conn -> rasa run actions #1 .. #N

The only way the topology is started: `scripts/cluster.sh` (`make cluster`) runs this module,
`tests/cluster/test_cluster.py` uses `Cluster` directly. Processes are `scripts.supervisor.Process`
objects (start, wait for health, stop the process group).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.config import allowed_origins
from bot.masking import mask_secrets
from rasa_ext.launch import API_TOKEN_VARIABLE
from scripts.supervisor import (
    MODEL,
    ROOT,
    Process,
    action_server,
    base_env,
    free_port,
    port_is_free,
    rasa_server_command,
    wait_until_up,
)

TEMPLATE = Path(__file__).with_name("nginx.conf.j2")
NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
DEFAULT_DB_URL = "postgresql://root@127.0.0.1:5432/spie_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
# A ticket of the Redis lock outlives a crashed server: a conversation whose turn was in flight on
# it waits for the ticket to expire. Rasa's default is 60 s; a turn never lasts more than
# TURN_TIMEOUT_SECONDS (20 s, REST channel), so 30 s is enough and halves that wait.
DEFAULT_TICKET_LOCK_LIFETIME = "30"
ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")
# nginx limit_req per client address. A conversation sends a message every few seconds: a whole
# office of 50 people behind one address, ≈ 10 messages/s, is never limited. A script sending more
# than BURST messages at once, or more than RATE a second for long, gets 429 (the cluster test's
# clients, which send back to back, each use an address of their own).
WEBHOOK_RATE, WEBHOOK_BURST = 20, 100  # requests/s, extra requests accepted at once
HANDSHAKE_RATE, HANDSHAKE_BURST = 5, 20  # socket.io sessions opened
RETRY_AFTER_SECONDS = 2  # the burst refills at RATE/s: 2 s is enough for the widget's re-send
RATE_LIMITED = "Trop de messages en peu de temps. Patientez quelques secondes avant de réessayer."
NOT_FOUND = (
    "Adresse inconnue : l’assistant répond sur /webhooks/rest/webhook (REST) et /socket.io/."
)


class ClusterError(RuntimeError):
    """The topology cannot start (message in French, shown as is)."""


def ensure_postgres_database(url: str) -> None:
    """Creates the PostgreSQL database of `url` if it does not exist yet."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ClusterError(
            f"{mask_secrets(url)} : plusieurs serveurs Rasa doivent partager "
            "une base PostgreSQL (postgresql://utilisateur@hôte:port/base)."
        )
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect():
            return
    except sa.exc.OperationalError as error:
        if "does not exist" not in str(error):
            raise ClusterError(
                mask_secrets(f"PostgreSQL injoignable ({url}) : {error.orig}")
            ) from error
    finally:
        engine.dispose()
    admin = sa.create_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True
    )
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3).ping()
    except redis.RedisError as error:
        raise ClusterError(mask_secrets(f"Redis injoignable ({url}) : {error}")) from error


def parse_origins(text: str) -> list[str]:
    """The origins of ALLOWED_ORIGINS (separated by spaces), each `scheme://host[:port]` or `*`."""
    origins = text.split()
    wrong = [origin for origin in origins if origin != "*" and not ORIGIN.fullmatch(origin)]
    if wrong:
        raise ClusterError(
            f"ALLOWED_ORIGINS : origine(s) invalide(s) {' '.join(wrong)} "
            "(attendu : https://site.exemple.fr[:port], séparées par des espaces, sans chemin)."
        )
    return origins


def rasa_cors_pattern(origin: str) -> str:
    """Rasa's --cors value for one origin, compared exactly.

    Sanic-CORS reads a value with `*`, `\\`, `]` or `?` as a regular expression matched at the
    start only (re.match): escaped and closed by `$`, the origin can only match itself.
    """
    return "*" if origin == "*" else re.escape(origin) + "$"


def nginx_json(message: str) -> str:
    """A JSON error body for an nginx single-quoted string (ASCII: no quote to escape)."""
    return json.dumps({"error": message}, ensure_ascii=True)


@dataclass
class Cluster:
    """N action servers, N Rasa servers and nginx, on loopback, sharing PostgreSQL and Redis.

    `port` is nginx's public port. Back-end ports are free ports, or `port + 1 ..` (Rasa),
    `port + 50` (actions entry point) and `port + 51 ..` (action servers) with `fixed_ports`.
    """

    workdir: Path
    tracker_db_url: str = DEFAULT_DB_URL
    database_url: str = DEFAULT_DB_URL
    redis_url: str = DEFAULT_REDIS_URL
    redis_key_prefix: str = ""
    port: int = 8000
    rasa_count: int = 2
    actions_count: int = 2
    fixed_ports: bool = False
    model: Path = field(default_factory=lambda: Path(os.environ.get("CLUSTER_MODEL") or MODEL))
    endpoints: str = field(
        default_factory=lambda: os.environ.get("CLUSTER_ENDPOINTS") or "endpoints.yml"
    )
    env_overrides: dict[str, str] = field(default_factory=dict)
    # By default the demo pages' origins (bot.config): no other site may call the assistant.
    cors: list[str] = field(default_factory=lambda: parse_origins(" ".join(allowed_origins())))

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir).resolve()
        if self.redis_key_prefix and not self.redis_key_prefix.isalnum():
            raise ClusterError("REDIS_KEY_PREFIX ne doit contenir que des lettres et des chiffres.")
        if self.fixed_ports:
            self.rasa_ports = [self.port + 1 + i for i in range(self.rasa_count)]
            self.actions_port = self.port + 50
            self.action_ports = [self.port + 51 + i for i in range(self.actions_count)]
            self.api_port = self.port + 49
        else:
            self.rasa_ports = [free_port() for _ in range(self.rasa_count)]
            self.actions_port = free_port()
            self.action_ports = [free_port() for _ in range(self.actions_count)]
            self.api_port = free_port()
        env = base_env(
            TRACKER_DB_URL=self.tracker_db_url,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            ACTIONS_URL=f"http://127.0.0.1:{self.actions_port}/webhook",
            SANIC_WORKERS="1",
        )
        env.setdefault("TICKET_LOCK_LIFETIME", DEFAULT_TICKET_LOCK_LIFETIME)
        if self.redis_key_prefix:
            env["REDIS_KEY_PREFIX"] = self.redis_key_prefix
        env.update(self.env_overrides)
        self.env = env
        logs = self.workdir / "logs"
        cors = [rasa_cors_pattern(origin) for origin in self.cors]
        self.action_servers = [
            replace(
                action_server(port, env, logs / f"actions-{i + 1}.log"),
                name=f"action server {i + 1}",
            )
            for i, port in enumerate(self.action_ports)
        ]
        # Through rasa_ext.launch: the HTTP API on when RASA_API_TOKEN is set, never on the
        # command line (ps).
        self.rasa_servers = [
            Process(
                f"rasa server {i + 1}",
                rasa_server_command(self.model, port, cors, endpoints=self.endpoints),
                env,
                logs / f"rasa-{i + 1}.log",
                f"http://127.0.0.1:{port}/webhooks/rest/",
                600,
            )
            for i, port in enumerate(self.rasa_ports)
        ]
        self.nginx_conf = self.workdir / "nginx.conf"
        self.nginx = Process(
            "nginx",
            [
                NGINX,
                "-c",
                str(self.nginx_conf),
                "-p",
                str(self.workdir),
                "-e",
                str(logs / "nginx-error.log"),
                "-g",
                "daemon off;",
            ],
            env,
            logs / "nginx.log",
            f"{self.url}/nginx-health",
            30,
        )

    # --- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"

    @property
    def api_enabled(self) -> bool:
        return bool(self.env.get(API_TOKEN_VARIABLE))

    @property
    def api_url(self) -> str:
        """Rasa's HTTP API (RASA_API_TOKEN set): loopback only, token in a Bearer header."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def access_log(self) -> Path:
        return self.workdir / "logs" / "nginx-access.log"

    def summary(self) -> str:
        rasa = ", ".join(f"127.0.0.1:{p}" for p in self.rasa_ports)
        actions = ", ".join(f"127.0.0.1:{p}" for p in self.action_ports)
        return "\n".join(
            [
                f"  - API REST :  POST {self.webhook}",
                f"  - socket.io : {self.url}/socket.io/  (sessions collantes, ip_hash)",
                f"  - serveurs Rasa ({len(self.rasa_ports)}) : {rasa}",
                f"  - serveurs d'actions ({len(self.action_ports)}) : {actions}"
                f", via nginx 127.0.0.1:{self.actions_port}",
                f"  - conversations : {mask_secrets(self.tracker_db_url)}",
                f"  - lieux et contacts : {mask_secrets(self.database_url)}",
                f"  - verrous : {mask_secrets(self.redis_url)}"
                f" (préfixe {self.redis_key_prefix or 'par défaut'})",
                f"  - origines autorisées (CORS) : {' '.join(self.cors)}",
                (
                    f"  - API HTTP de Rasa : {self.api_url} (127.0.0.1 seulement ;"
                    " en-tête « Authorization: Bearer $RASA_API_TOKEN »)"
                )
                if self.api_enabled
                else "  - API HTTP de Rasa : désactivée (RASA_API_TOKEN absent)",
                f"  - journaux : {self.workdir / 'logs'}",
            ]
        )

    # --- start / stop ---------------------------------------------------------------------

    def check_prerequisites(self) -> None:
        if not self.model.exists():
            raise ClusterError(f"{self.model} est absent : lancez d'abord « make model ».")
        if not Path(NGINX).exists():
            raise ClusterError(f"nginx est introuvable ({NGINX}) : apt-get install -y nginx")
        ports = [self.port, self.actions_port, *self.rasa_ports, *self.action_ports]
        if self.api_enabled:
            ports.append(self.api_port)
        busy = [str(port) for port in ports if not port_is_free(port)]
        if busy:
            raise ClusterError(f"Port(s) déjà utilisé(s) sur 127.0.0.1 : {', '.join(busy)}.")
        ensure_postgres_database(self.tracker_db_url)
        if self.database_url != self.tracker_db_url:
            ensure_postgres_database(self.database_url)
        check_redis(self.redis_url)

    def build_places_store(self) -> None:
        import subprocess

        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "build"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"La base des lieux et contacts n'a pas pu être construite :\n"
                f"{result.stdout}{result.stderr}"
            )

    def write_nginx_conf(self) -> None:
        for sub in ("logs", "tmp"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        template = Environment(
            loader=FileSystemLoader(TEMPLATE.parent),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,  # not HTML; the JSON bodies are escaped for nginx by nginx_json
        ).get_template(TEMPLATE.name)
        text = template.render(
            user=getpass.getuser() if os.geteuid() == 0 else "",
            workdir=self.workdir,
            port=self.port,
            actions_port=self.actions_port,
            rasa_count=self.rasa_count,
            actions_count=self.actions_count,
            rasa_ports=self.rasa_ports,
            action_ports=self.action_ports,
            api_enabled=self.api_enabled,
            api_port=self.api_port,
            rate=WEBHOOK_RATE,
            burst=WEBHOOK_BURST,
            handshake_rate=HANDSHAKE_RATE,
            handshake_burst=HANDSHAKE_BURST,
            retry_after=RETRY_AFTER_SECONDS,
            rate_limited_body=nginx_json(RATE_LIMITED),
            not_found_body=nginx_json(NOT_FOUND),
            origins=self.cors,
        )
        self.nginx_conf.write_text(text, encoding="utf-8")

    def start(self, progress: bool = False) -> Cluster:
        def say(message: str) -> None:
            if progress:
                print(f"==> {message}", file=sys.stderr, flush=True)

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.check_prerequisites()
        say("Base des lieux et contacts (PostgreSQL)")
        self.build_places_store()
        self.write_nginx_conf()
        try:
            say(f"{len(self.action_servers)} serveur(s) d'actions et nginx")
            self._start_all(self.action_servers)
            self.nginx.start()
            say(f"{len(self.rasa_servers)} serveur(s) Rasa (démarrage ≈ 1 à 2 min)")
            self._start_all(self.rasa_servers)
            wait_until_up(f"{self.url}/webhooks/rest/", 30)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _start_all(processes: list[Process]) -> None:
        with ThreadPoolExecutor(max_workers=len(processes)) as pool:
            futures = [pool.submit(process.start) for process in processes]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise ClusterError("\n".join(str(error) for error in errors))

    def stop(self) -> None:
        """Stops every process; not interruptible by Ctrl-C or SIGTERM (≤ 20 s per process)."""
        main = threading.current_thread() is threading.main_thread()
        saved = (
            {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
            if main
            else {}
        )
        try:
            with ThreadPoolExecutor(max_workers=len(self.rasa_servers)) as pool:
                list(pool.map(_stop_quietly, self.rasa_servers))
            for process in (self.nginx, *self.action_servers):
                _stop_quietly(process)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    def kill_rasa(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Stops Rasa server `index` abruptly (SIGKILL by default): a crash, for the tests."""
        self.rasa_servers[index].kill(sig)

    def processes(self) -> list[Process]:
        return [*self.action_servers, self.nginx, *self.rasa_servers]


def _stop_quietly(process: Process) -> None:
    try:
        process.stop()
    except Exception as error:  # noqa: BLE001 - stop the others anyway
        print(f"{process.name} : arrêt impossible ({error})", file=sys.stderr)


def main() -> int:
    """`make cluster`: starts the topology in the foreground until Ctrl-C."""
    env = os.environ
    db_url = env.get("TRACKER_DB_URL") or DEFAULT_DB_URL
    count = int(env.get("CLUSTER_SERVERS") or 2)
    try:
        origins = parse_origins(" ".join(allowed_origins()))
    except ClusterError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 1
    cluster = Cluster(
        cors=origins,
        workdir=Path(env.get("CLUSTER_DIR") or ROOT / "var" / "cluster"),
        tracker_db_url=db_url,
        database_url=env.get("DATABASE_URL") or db_url,
        redis_url=env.get("REDIS_URL") or DEFAULT_REDIS_URL,
        redis_key_prefix=env.get("REDIS_KEY_PREFIX") or "",
        port=int(env.get("CLUSTER_PORT") or 8000),
        rasa_count=count,
        actions_count=int(env.get("CLUSTER_ACTION_SERVERS") or count),
        fixed_ports=True,
    )

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # While starting, Ctrl-C or SIGTERM interrupts the start, and Cluster.start stops what it began.
    signal.signal(signal.SIGTERM, interrupt)
    try:
        cluster.start(progress=True)
    except KeyboardInterrupt:
        print("Démarrage interrompu.", file=sys.stderr)
        return 130
    except RuntimeError as error:  # ClusterError, or a process that did not start (log tail)
        print(mask_secrets(f"Erreur : {error}"), file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"\n  L'assistant tourne en grappe derrière nginx : {cluster.url}\n{cluster.summary()}\n"
        "  Ctrl-C arrête tout.\n",
        flush=True,
    )
    reported: set[str] = set()
    try:
        while not stop.wait(2):
            for process in cluster.processes():
                if (
                    process.popen is not None
                    and process.popen.poll() is not None
                    and process.name not in reported
                ):
                    reported.add(process.name)
                    print(
                        f"Attention : {process.name} s'est arrêté (code {process.popen.returncode}) ;"
                        f" voir {process.log_path}",
                        file=sys.stderr,
                        flush=True,
                    )
            if cluster.nginx.name in reported or len(
                [p for p in cluster.rasa_servers if p.name in reported]
            ) == len(cluster.rasa_servers):
                print("Erreur : plus aucun serveur ne peut répondre ; arrêt.", file=sys.stderr)
                return 1
    finally:
        print("Arrêt de la grappe…", file=sys.stderr, flush=True)
        started = time.monotonic()
        cluster.stop()
        print(f"Grappe arrêtée ({time.monotonic() - started:.0f} s).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
