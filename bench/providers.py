"""AI providers (issue 15): what the adapters add over the bare SDKs, and whether recorded costs are exact.

1. Overhead, per family (OpenAI-compatible, Anthropic, Bedrock, Google; a family whose adapter or
   imitation is missing from the checkout is reported "not available"). Each family's local server
   from ``providers/tests/*_imitation`` runs in a process of its own (``_providers_serve.py``, so that
   it does not share this interpreter with the client being timed) and answers every request with one
   scripted turn: ``--chunks`` (200) one-token text chunks, or 7 text chunks and a tool call whose
   arguments arrive in 5 fragments. The same request (prompt, tool, limits) is made three ways
   (``_providers_clients.py``): ``adapter`` (``adapter_for(...)`` built once, ``.stream(...)`` per
   request), ``adapter/new`` (``adapter_for`` per request, as ``providers.completion`` builds it) and
   ``bare`` (the SDK directly, its client built once, doing the least a caller must: take each
   chunk's text, join and parse the tool-call fragments). After ``--warmup`` requests of each,
   ``--runs`` requests of each are measured interleaved, the order rotated every round (A B C, B C A,
   C A B) so that drift and order effects cancel. Per request: time to the first text or tool call
   (TTFT, from the call), time per text token (first to last text chunk / (chunks - 1)), the whole
   answer, and this process's CPU time (``time.process_time``: on a 2-CPU shared machine the steadiest
   figure). Added = the adapter's p95 - the bare SDK's p95. Aim: under 15 ms added at p95, to the
   first token and to the whole answer. A caller that misses it is profiled (cProfile,
   ``--profile-missed`` requests): the functions it spends more own time in than the bare SDK.
2. Exactness (``_providers_cost.py``): ``--requests`` (1,000) requests through
   ``providers.completion.completion_stream`` against the Anthropic imitation (in a thread: it holds
   the script of a thousand different turns) with seeded random token counts, alternating a provider
   at genai-prices' list price and one with price overrides. Printed: the sum of tokens x price / 10^6
   computed here in Decimal from the scripted tokens and the published prices (not through
   ``providers.pricing``), the sum of the recorded ``cost_usd``, the database's ``SUM`` and
   ``ProviderMonth.spent_usd``; all must be equal to the last digit. Scratch SQLite database in a
   temporary VAR_DIR, or the PostgreSQL database of BENCH_DATABASE_URL. ``--month-spent USD`` starts
   each provider's month there (SQLite keeps 15 significant digits: past $999.99 the 12th decimal of
   the month's spend goes).

Run from the project root: ``.venv/bin/python bench/providers.py`` (~3 min; ``--runs``, ``--chunks``,
``--requests``, ``--families``, ``--no-cost``, ``--no-overhead``, ``--profile`` to profile every
adapter instead). Exit 0; ``--strict``: 1 when an aim is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The project root first: this file's own name would otherwise hide the `providers` app.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _providers_clients as clients
from _stack import PYTHON, ROOT, die_with_parent, fmt, log, machine_busy, percentile, table, terminate, verdict

FAMILIES = ("openai", "anthropic", "bedrock", "google")
AIM_MS = 15.0
CHUNKS = 200  # set from --chunks
HERE = Path(__file__).resolve().parent


@dataclass
class Samples:
    ttft: list[float] = field(default_factory=list)  # seconds
    per_token: list[float] = field(default_factory=list)  # seconds per text token
    total: list[float] = field(default_factory=list)  # seconds
    cpu: list[float] = field(default_factory=list)  # CPU seconds of this process

    def add(self, call: clients.Call) -> None:
        cpu, start = time.process_time(), time.perf_counter()
        first = first_text = last_text = None
        texts = 0
        for kind, _ in call():
            now = time.perf_counter()
            first = first or now
            if kind == "text":
                texts += 1
                first_text = first_text or now
                last_text = now
        end = time.perf_counter()
        self.cpu.append(time.process_time() - cpu)
        self.total.append(end - start)
        self.ttft.append(first - start)
        if texts > 1:
            self.per_token.append((last_text - first_text) / (texts - 1))


# --- the imitation's process -------------------------------------------------------------------


def server_start(family: str, turn: str, chunks: int) -> tuple[subprocess.Popen, str]:
    argv = [PYTHON, str(HERE / "_providers_serve.py"), family, turn, "--chunks", str(chunks)]
    process = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=die_with_parent
    )
    line = process.stdout.readline()
    if not line.startswith("listening "):
        terminate(process, family)
        sys.exit(f"the {family} imitation did not start: {line!r}")
    return process, line.split()[1]


def measure(family: str, turn: str, options: argparse.Namespace) -> dict[str, Samples]:
    """The three callers of one family and turn, interleaved against one server process."""
    process, url = server_start(family, turn, options.chunks)
    try:
        calls = clients.callers(family, url, tools=turn == "tool")
        names = list(calls)
        for _ in range(options.warmup):
            for name in names:
                Samples().add(calls[name])
        results = {name: Samples() for name in names}
        for run in range(options.runs):
            shift = run % len(names)
            for name in names[shift:] + names[:shift]:
                results[name].add(calls[name])
        return results
    finally:
        terminate(process, family, grace=2)


# --- figures -----------------------------------------------------------------------------------


def p(values: list[float], q: float, scale: float) -> float:
    return percentile(sorted(values), q) * scale


def overhead_rows(family: str, turn: str, results: dict[str, Samples]) -> tuple[list[list], list[tuple[str, bool]]]:
    """One row per caller, then what each adapter adds over the bare SDK; and the aim's checks."""
    per_token = turn == "text"  # the tool turn's 7 chunks are too few for a per-token figure
    rows, checks = [], []
    for name, s in results.items():
        rows.append(
            [
                f"{family} {turn} {name}",
                *(fmt(p(s.ttft, q, 1e3), 2) for q in (50, 95)),
                *(fmt(p(s.per_token, q, 1e6), 1) if per_token else "" for q in (50, 95)),
                *(fmt(p(s.total, q, 1e3), 2) for q in (50, 95)),
                fmt(statistics.median(s.cpu) * 1e3, 2),
                fmt(statistics.fmean(s.cpu) * 1e3, 2),
            ]
        )
    bare = results["bare"]
    for name in ("adapter", "adapter/new"):
        s = results[name]
        added_ttft = p(s.ttft, 95, 1e3) - p(bare.ttft, 95, 1e3)
        added_total = p(s.total, 95, 1e3) - p(bare.total, 95, 1e3)
        added_token = p(s.per_token, 95, 1e6) - p(bare.per_token, 95, 1e6)
        rows.append(
            [
                f"  added by {name} (p95 - p95)",
                "",
                fmt(added_ttft, 2),
                "",
                fmt(added_token, 1) if per_token else "",
                "",
                fmt(added_total, 2),
                fmt((statistics.median(s.cpu) - statistics.median(bare.cpu)) * 1e3, 2),
                fmt((statistics.fmean(s.cpu) - statistics.fmean(bare.cpu)) * 1e3, 2),
            ]
        )
        checks.append((f"{family} {turn} {name}", added_ttft < AIM_MS and added_total < AIM_MS))
    return rows, checks


def own_times(call: clients.Call, runs: int) -> tuple[dict, dict]:
    """cProfile of ``runs`` requests: own and cumulative seconds per function, per request."""
    Samples().add(call)  # connections and imports out of the way
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        for _ in call():
            pass
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    own = {function_name(key): value[2] / runs for key, value in stats.items()}
    cumulative = {function_name(key): value[3] / runs for key, value in stats.items() if "/providers/" in key[0]}
    return own, cumulative


def function_name(key: tuple) -> str:
    path, line, name = key
    if path == "~":
        return name  # a built-in, e.g. {method 'load_verify_locations' of '_ssl._SSLContext' objects}
    parts = Path(path).parts
    where = "/".join(parts[parts.index("site-packages") + 1 :] if "site-packages" in parts else parts[-3:])
    return f"{where}:{line}({name})"


def profile(family: str, turn: str, caller: str, runs: int, top: int = 8) -> None:
    """Where ``caller``'s requests spend more time than the bare SDK's (cProfile, own time per request)."""
    process, url = server_start(family, turn, CHUNKS)
    try:
        calls = clients.callers(family, url, tools=turn == "tool")
        own, cumulative = own_times(calls[caller], runs)
        bare, _ = own_times(calls["bare"], runs)
    finally:
        terminate(process, family, grace=2)
    added = sorted(own, key=lambda name: own[name] - bare.get(name, 0.0), reverse=True)[:top]
    rows = [[name, fmt(own[name] * 1e3, 3), fmt(bare.get(name, 0.0) * 1e3, 3)] for name in added]
    print(f"\ncProfile, {family} {turn}, {runs} requests each: functions {caller} spends more own time in than bare\n")
    print(table(["function", f"{caller} ms/request", "bare ms/request"], rows))
    ours = sorted(cumulative.items(), key=lambda item: item[1], reverse=True)[:5]
    print(f"\nproject code by cumulative time, {caller}: " + "; ".join(f"{n} {t * 1e3:.2f} ms" for n, t in ours))


def overhead(options: argparse.Namespace) -> list[tuple[str, bool]]:
    families = [f for f in options.families if clients.available(f)]
    log(f"machine busy before the run: {machine_busy(2):.0f} % of all cores")
    rows, checks = [], []
    for family in families:
        for turn in ("text", "tool"):
            log(f"{family} {turn}: {options.warmup} warm-up + {options.runs} runs of each caller")
            family_rows, family_checks = overhead_rows(family, turn, measure(family, turn, options))
            rows += family_rows
            checks += family_checks
    headers = ["family turn caller", "TTFT p50 ms", "p95", "per token p50 us", "p95", "answer p50 ms", "p95"]
    headers += ["CPU p50 ms", "CPU mean ms"]
    print(
        f"\nAdapter against the bare SDK, same local server (its own process), {options.runs} runs each, "
        f"interleaved; text turn: {options.chunks} chunks; tool turn: 7 text chunks + 1 call in 5 fragments\n"
    )
    print(table(headers, rows))
    for family in options.families:
        if not clients.available(family):
            print(f"{family}: not available (its adapter or imitation is not in this checkout)")
    print()
    for name, ok in checks:
        print(f"aim: under {AIM_MS:g} ms added at p95 (TTFT and whole answer), {name}: {verdict(ok)}")
    missed = {tuple(name.split(" ")[::2]) for name, ok in checks if not ok}  # (family, caller)
    for family, caller in sorted(missed) if options.profile_missed else ():
        log(f"{family} {caller} missed the aim: profiling it and the bare SDK")
        profile(family, "text", caller, options.profile_missed)
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="measured requests per caller, family and turn")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--chunks", type=int, default=200, help="text chunks of the text turn")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--requests", type=int, default=1000, help="requests of the exactness check")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--month-spent", default="0", metavar="USD", help="each provider's month spend before the requests"
    )
    parser.add_argument("--no-overhead", action="store_true")
    parser.add_argument("--no-cost", action="store_true")
    parser.add_argument("--profile", action="store_true", help="only cProfile --runs text requests per caller")
    parser.add_argument(
        "--profile-missed",
        type=int,
        default=10,
        metavar="N",
        help="cProfile N requests of a caller that misses the aim (0: no)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when an aim is missed")
    options = parser.parse_args()
    global CHUNKS
    CHUNKS = options.chunks
    if options.profile:
        for family in (f for f in options.families if clients.available(f)):
            for caller in ("adapter", "adapter/new"):
                profile(family, "text", caller, options.runs)
        return 0
    ok = True
    if not options.no_overhead:
        ok &= all(met for _, met in overhead(options))
    if not options.no_cost:
        import _providers_cost

        ok &= _providers_cost.run(requests=options.requests, seed=options.seed, month_spent=options.month_spent)
    return 1 if options.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
