"""Resolver latency: load time, then p50 / p95 / p99 over 10,000 mixed queries (target p95 < 5 ms).

    python bench/resolver_bench.py [--url DATABASE_URL] [--queries 10000] [--seed 7]

Without --url the store is built in a temporary SQLite file. Queries: département names,
commune names, numbers, postal codes, one-letter typos and whole sentences, in equal shares;
clean mentions go through `resolve`, sentences through `find_in_text`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.places.resolver import PlaceResolver  # noqa: E402
from bot.places.store import PlaceData, Store, build_database  # noqa: E402

SENTENCES = (
    "qui contacter dans {dep} ?",
    "je suis à {commune}, qui peut m'aider ?",
    "code postal {postal}",
    "on est dans le {number}",
    "DDETS de {dep}",
    "contact DREETS {region}",
    "Bonjour, notre projet est porté par le conseil départemental, c'est à {commune}",
    "Quelle est la date limite de dépôt des candidatures ?",
)


def make_queries(data: PlaceData, count: int, seed: int) -> list[tuple[str, str]]:
    """(category, query) pairs in equal shares of six categories."""
    rng = random.Random(seed)
    communes = [row for row in data.communes if row.type == "COM" and row.population]
    deps = [row for row in data.departements]
    postal_codes = sorted({row.postal_code for row in data.postal_codes})
    makers: dict[str, Callable[[], str]] = {
        "département": lambda: rng.choice(deps).name,
        "commune": lambda: rng.choice(communes).name,
        "number": lambda: rng.choice(("", "le ", "dans le ")) + rng.choice(deps).code,
        "postal code": lambda: rng.choice(postal_codes),
        "typo": lambda: typo(rng.choice(communes).name, rng),
        "sentence": lambda: rng.choice(SENTENCES).format(
            dep=rng.choice(deps).name,
            commune=rng.choice(communes).name,
            postal=rng.choice(postal_codes),
            number=rng.choice(deps).code,
            region=rng.choice(data.regions).name,
        ),
    }
    categories = list(makers)
    return [(cat, makers[cat]()) for cat in (categories[i % len(categories)] for i in range(count))]


def typo(name: str, rng: random.Random) -> str:
    index = rng.randrange(1, max(2, len(name) - 1))
    return name[:index] + rng.choice("aeioursnt") + name[index + 1 :]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="store URL (default: a temporary SQLite store)")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        build_database(url)
        started = time.perf_counter()
        data = Store(url).place_data()
        read = time.perf_counter() - started
        started = time.perf_counter()
        resolver = PlaceResolver(data)
        indexed = time.perf_counter() - started

    timings: dict[str, list[float]] = defaultdict(list)
    for category, query in make_queries(data, args.queries, args.seed):
        resolve = resolver.find_in_text if category == "sentence" else resolver.resolve
        started = time.perf_counter()
        resolve(query)
        timings[category].append(time.perf_counter() - started)
    timings["all"] = [value for values in timings.values() for value in values]

    print(f"load: read store {read:.2f} s + build indexes {indexed:.2f} s")
    print(f"{'queries':<12} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for category, values in timings.items():
        ms = [value * 1000 for value in values]
        print(
            f"{category:<12} {len(ms):>6} {statistics.median(ms):>8.3f} {percentile(ms, 0.95):>8.3f}"
            f" {percentile(ms, 0.99):>8.3f} {max(ms):>8.3f}"
        )
    p95 = percentile(timings["all"], 0.95) * 1000
    print(f"target p95 < 5 ms: {'OK' if p95 < 5 else 'MISSED'} ({p95:.3f} ms)")
    return 0 if p95 < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
