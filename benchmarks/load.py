"""Throughput and latency under load, against the number of concurrent clients, for one and two
service workers: uncached Danish questions over HTTP on loopback.

    .venv/bin/python benchmarks/load.py [--concurrency 1,4,16,64] [--duration 8] [--workers 1,2]
                                        [--index var/index] [--out docs/benchmarks] [--k 5]
    make bench-load

The targets it checks (on the 2-core machine it was written for): two workers serve at least
1.6 × the uncached throughput of one worker in the same run (peak over the concurrency levels), and
at 64 concurrent clients the p99 latency of the successful searches stays within 4 × their p50
(requests beyond the back-pressure limit get a fast 503, counted in the report).

What it does, for each worker count in turn (the same questions and durations for each):

1. Starts the real service, ``python -m service --host 127.0.0.1 --port <free port> --index <index>
   --workers N --api-only --no-watch``, with this process's environment plus
   ``PEERQA_WATCH_INBOX=false`` and ``PEERQA_LOG_FORMAT=text`` (built as a dict for the child; this
   process's environment is never changed), and waits until every worker has started and
   ``/healthz`` answers. ``/readyz`` tells the search slots and queue of a worker
   (``PEERQA_MAX_SEARCHES``, ``PEERQA_SEARCH_QUEUE``). No index: says how to build one, exits 2.
2. Sends a few uncounted warm-up searches one at a time, then runs each concurrency level C: a
   closed loop of C clients (asyncio tasks sharing one ``httpx.AsyncClient`` with C connections),
   each sending ``GET /api/search?q=…&k=5`` as soon as its previous answer arrived. A client
   answered 503 waits the ``Retry-After`` seconds the service asks for (at most until the level
   ends) before its next request, as a polite client does (``--retry-after ignore``: it asks again
   at once). The first ``--warmup`` seconds of a level are not counted; then ``--duration``
   seconds are, or fewer if ``--max-requests`` requests were sent first; requests still in flight
   at the end are waited for before the next level starts.
3. Stops the service with SIGTERM (kills it if it has not exited after 30 s).

Uncached: the service keeps recent question embeddings (``PEERQA_QUERY_VECTOR_CACHE``, keyed by
the exact text), so no string is ever sent twice to one service: the Danish questions
(``lang`` da) of ``../shared/eval/dev-questions.jsonl`` and ``eval/question_sets/*.jsonl`` are
shuffled (seeded) and cycled, each followed by two ordinary Danish words (``nu``, ``gerne``,
``kommune``, …; one token each) drawn by a seeded generator, drawn again if that string was
already sent. Each service gets the same sequence. The two words add two tokens to the ~20 of
a question, so the encoder (its cost grows with the tokens) works about 10 % more than on the
bare questions.

Numbers per (workers, clients), from the counted window:

- ``ok/s``: successful searches (200) completed in the window, per second.
- ``p50/p95/p99``: latency (ms, ``numpy.percentile``) of the successful searches sent in the
  window: from sending the request to having the decoded JSON, in this process. ``took p50``:
  the service's own ``took_ms`` (the search in its thread, without waiting for a slot).
- ``503``: refused searches, how many and their share of all answers, with their p50 latency;
  ``busy`` (queue full: refused at once) and ``waited`` (no slot within
  ``PEERQA_SEARCH_WAIT_SECONDS``) are told apart by the answer's message. ``errors``: other
  statuses and transport errors.
- CPU: cores the service (every process of it) used, cores the whole machine used (from
  ``/proc/stat``: the service, this load generator and anything else running), and the load
  generator's own CPU milliseconds per request (``time.process_time``): on 2 cores it competes
  with the service, so a large value would cap the throughput measured.

The 1-minute load average at the start of every service run is reported: well above 0 means other
work shares the cores and every number is lower and noisier than on a quiet machine.

``--variant LABEL[@W+W…]:NAME=VALUE[,NAME=VALUE…]`` (repeatable) runs every worker count (or
those after ``@``) again with those variables added to the service's environment (e.g.
``slots1:PEERQA_MAX_SEARCHES=1``); the results are extra rows, labelled, and never the ones the
targets are checked on. ``--notes FILE`` adds a hand-written "Observations" section to the report.

Writes ``OUT/load.json``, ``OUT/load.md`` and ``OUT/load.png`` (throughput, and p50/p99 latency,
against clients). Exit status 0 whatever the numbers (``--check``: 1 when a target is missed);
1 if the service did not start; 2 for no index or bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np

from eval.questions import DatasetError, load_questions
from indexer.store import read_manifest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INDEX = Path("var/index")
DEFAULT_OUT = Path("docs/benchmarks")
QUESTION_FILES = (ROOT.parent / "shared" / "eval" / "dev-questions.jsonl",
                  *sorted((ROOT / "eval" / "question_sets").glob("*.jsonl")))
#: Ordinary Danish words, one token each for multilingual-e5; two of them (seeded) end every question.
SUFFIX_WORDS = ("nu", "her", "også", "igen", "lige", "altså", "godt", "bare", "faktisk", "egentlig", "gerne",
                "måske", "nemlig", "stadig", "især", "alligevel", "først", "kun", "lidt", "meget", "hjælp",
                "kommune", "hverdag", "familie", "arbejde", "samtale", "gruppe", "erfaring", "tid", "sted",
                "netværk", "frivillig", "uge", "år", "plan", "møde", "støtte", "råd", "viden", "dag")
TARGET_SPEEDUP = 1.6  # two workers against one, peak throughput
TARGET_TAIL = 4.0  # p99 / p50 at TAIL_CLIENTS clients
TAIL_CLIENTS = 64
MAX_CLIENTS = 512
MAX_DURATION = 300.0
REQUEST_TIMEOUT = 30.0  # seconds for one request
START_TIMEOUT = 180.0  # seconds for every worker to start
STOP_TIMEOUT = 30.0  # seconds after SIGTERM before the service is killed
SERVICE_WARMUP = 5  # uncounted searches, one at a time, after start-up
PAUSE = 0.5  # seconds between levels
BUSY_MARK, WAITED_MARK = "queue is full", "in time"  # in the two 503 messages of service.backpressure
CHILD_ENV = {"PEERQA_WATCH_INBOX": "false", "PEERQA_LOG_FORMAT": "text", "HF_HUB_OFFLINE": "1",
             "TRANSFORMERS_OFFLINE": "1"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchmarkError(RuntimeError):
    """The service did not start or did not answer; the message says why."""


# --- questions -------------------------------------------------------------------------------------

def danish_questions(paths: Sequence[Path]) -> tuple[list[str], list[Path]]:
    """The Danish questions of every file that exists, trimmed, each text once; and the files
    that gave at least one."""
    seen: dict[str, None] = {}
    used = []
    for path in paths:
        if not path.is_file():
            continue
        found = [q.question.strip() for q in load_questions(path).questions if q.lang == "da" and q.question.strip()]
        seen.update(dict.fromkeys(found))
        used += [path] if found else []
    return list(seen), used


def unique_questions(questions: Sequence[str], seed: int) -> Iterator[str]:
    """An endless, seeded sequence of distinct strings: the questions shuffled and cycled, each
    followed by two ordinary words drawn by the seeded generator (drawn again if that string was
    already made; a third word once the pairs of a question run short)."""
    rng = random.Random(seed)
    order = list(questions)
    rng.shuffle(order)
    made: set[str] = set()
    while True:
        for question in order:
            tries = 0
            while True:
                words = rng.sample(SUFFIX_WORDS, 2 + tries // 50)
                text = f"{question} {' '.join(words)}"
                tries += 1
                if text not in made:
                    break
            made.add(text)
            yield text


# --- the service -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Service:
    process: subprocess.Popen[bytes]
    base_url: str
    log: IO[bytes]
    workers: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(index: Path, workers: int, extra_env: dict[str, str]) -> Service:
    """The service in its own session (so it can be stopped as a group), output in a temporary file.
    Its environment is this process's (inherited) plus CHILD_ENV and ``extra_env``, added by
    ``env(1)``, which then runs the service in its own place (the same process id)."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by stop_service
    added = [f"{name}={value}" for name, value in {**CHILD_ENV, **extra_env}.items()]
    command = ["env", *added, sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(port),
               "--index", str(index), "--workers", str(workers), "--api-only", "--no-watch"]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    return Service(process, f"http://127.0.0.1:{port}", log, workers)


def log_text(service: Service) -> str:
    service.log.flush()
    service.log.seek(0)
    return service.log.read().decode("utf-8", errors="replace")


def log_tail(service: Service, lines: int = 25) -> str:
    return "\n".join(log_text(service).splitlines()[-lines:])


def wait_until_ready(service: Service, client: httpx.Client, timeout: float = START_TIMEOUT) -> dict[str, Any]:
    """The ``/healthz`` body once every worker has started (uvicorn logs "Application startup
    complete" once per worker) and ``/healthz`` answers; BenchmarkError otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise BenchmarkError(f"the service exited with status {service.process.returncode}:\n{log_tail(service)}")
        if log_text(service).count("Application startup complete") >= service.workers:
            try:
                response = client.get(f"{service.base_url}/healthz", timeout=5.0)
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.TransportError:
                pass
        time.sleep(0.25)
    raise BenchmarkError(f"the service did not start within {timeout:.0f} s:\n{log_tail(service)}")


def stop_service(service: Service) -> None:
    """SIGTERM to the service (its supervisor stops the workers); the whole group killed if it hangs."""
    if service.process.poll() is None:
        service.process.terminate()
        try:
            service.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait(timeout=STOP_TIMEOUT)
    service.log.close()


# --- CPU accounting --------------------------------------------------------------------------------

def process_table() -> dict[int, tuple[int, float]]:
    """Every process: pid → (parent pid, CPU seconds used so far, user + system)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it exited meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return table


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of ``root`` and each of its descendants, by pid."""
    table = process_table()
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return {pid: table[pid][1] for pid in tree if pid in table}


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core; not idle or waiting for I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuMark:
    """CPU counters at one moment."""
    wall: float
    client: float
    service: dict[int, float]
    machine: float

    @classmethod
    def now(cls, service_pid: int) -> CpuMark:
        return cls(time.perf_counter(), time.process_time(), tree_cpu(service_pid), machine_busy_seconds())


# --- the load --------------------------------------------------------------------------------------

@dataclass
class Sample:
    started: float  # perf_counter when sent
    ms: float
    status: int  # 0: a transport error
    kind: str  # "ok", "busy", "waited", "503", an HTTP status or an exception's name
    took_ms: float | None = None


@dataclass
class Level:
    """What the clients of one level recorded."""
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    sent: int = 0
    capped_at: float | None = None  # perf_counter when --max-requests was reached


def classify(response: httpx.Response) -> tuple[str, float | None]:
    """(kind, took_ms) of one answer."""
    if response.status_code == 200:
        return "ok", float(response.json()["took_ms"])
    if response.status_code == 503:
        text = response.text
        return ("busy" if BUSY_MARK in text else "waited" if WAITED_MARK in text else "503"), None
    return str(response.status_code), None


async def one_request(client: httpx.AsyncClient, url: str, question: str, k: int) -> tuple[Sample, float]:
    """One search: its sample and the seconds the service asked to wait before the next (503)."""
    started = time.perf_counter()
    try:
        response = await client.get(url, params={"q": question, "k": k})
        kind, took = classify(response)
        status = response.status_code
        retry = float(response.headers.get("retry-after", 0) or 0) if status == 503 else 0.0
    except httpx.HTTPError as exc:
        kind, took, status, retry = type(exc).__name__, None, 0, 0.0
    return Sample(started, (time.perf_counter() - started) * 1000, status, kind, took), retry


async def client_loop(client: httpx.AsyncClient, url: str, questions: Iterator[str], k: int, level: Level,
                      end: float, max_requests: int, honour_retry_after: bool) -> None:
    """One closed-loop client: a request as soon as the previous answer came (or the wait it asked
    for is over), until ``end`` or until the level has sent ``max_requests``."""
    while time.perf_counter() < end and level.capped_at is None:
        level.sent += 1
        if level.sent >= max_requests:
            level.capped_at = time.perf_counter()
        sample, retry = await one_request(client, url, next(questions), k)
        level.samples.append(sample)
        if retry and honour_retry_after:
            await asyncio.sleep(max(0.0, min(retry, end - time.perf_counter())))


async def run_level(base_url: str, concurrency: int, questions: Iterator[str], k: int, warmup: float,
                    duration: float, max_requests: int, honour_retry_after: bool,
                    service_pid: int) -> dict[str, Any]:
    """One concurrency level: the clients run for ``warmup + duration`` s; the counted window's numbers."""
    level = Level(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as client:
        start = time.perf_counter()
        window_start, end = start + warmup, start + warmup + duration
        url = f"{base_url}/api/search"
        loops = [asyncio.create_task(client_loop(client, url, questions, k, level, end, max_requests,
                                                 honour_retry_after)) for _ in range(concurrency)]
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        first = CpuMark.now(service_pid)
        while time.perf_counter() < end and level.capped_at is None:
            await asyncio.sleep(0.05)
        last = CpuMark.now(service_pid)
        await asyncio.gather(*loops)
    window_end = min(end, level.capped_at) if level.capped_at is not None else end
    return summarise(level, max(window_start, first.wall), min(window_end, last.wall), first, last)


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=np.float64), [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2)}


def summarise(level: Level, window_start: float, window_end: float, first: CpuMark, last: CpuMark) -> dict[str, Any]:
    """The counted window's numbers: latencies of the requests sent in it, throughput of the
    successes completed in it, and the CPU used meanwhile."""
    seconds = max(window_end - window_start, 1e-9)
    sent = [s for s in level.samples if window_start <= s.started < window_end]
    completed_ok = [s for s in level.samples
                    if s.kind == "ok" and window_start <= s.started + s.ms / 1000 <= window_end]
    ok = [s for s in sent if s.kind == "ok"]
    refused = [s for s in sent if s.status == 503]
    errors: dict[str, int] = {}
    for s in sent:
        if s.kind != "ok" and s.status != 503:
            errors[s.kind] = errors.get(s.kind, 0) + 1
    latency = percentiles([s.ms for s in ok])
    service_seconds = sum(last.service.get(pid, 0.0) - first.service.get(pid, 0.0) for pid in last.service)
    per_process = sorted((round((last.service[pid] - first.service.get(pid, 0.0)) / seconds, 2)
                          for pid in last.service), reverse=True)
    return {
        "concurrency": level.concurrency,
        "window_s": round(seconds, 2),
        "capped": level.capped_at is not None,
        "requests": len(sent),
        "ok": len(ok),
        "throughput": round(len(completed_ok) / seconds, 2),
        "latency_ms": latency,
        "tail_ratio": round(latency["p99"] / latency["p50"], 2) if latency["p50"] else None,
        "took_ms_p50": percentiles([s.took_ms for s in ok if s.took_ms is not None])["p50"],
        "refused": len(refused),
        "refused_share": round(len(refused) / len(sent), 4) if sent else 0.0,
        "refused_busy": sum(s.kind == "busy" for s in refused),
        "refused_waited": sum(s.kind == "waited" for s in refused),
        "refused_ms": percentiles([s.ms for s in refused]),
        "errors": errors,
        "service_cores": round(service_seconds / seconds, 2),
        "service_cores_by_process": [c for c in per_process if c >= 0.01],
        "service_cpu_ms_per_ok": round(1000 * service_seconds / len(completed_ok), 1) if completed_ok else None,
        "machine_cores": round((last.machine - first.machine) / seconds, 2),
        "client_cpu_ms_per_request": round(1000 * (last.client - first.client) / max(len(sent), 1), 3),
        "client_cores": round((last.client - first.client) / seconds, 2),
        "other_cores": round(max(0.0, (last.machine - first.machine) - service_seconds
                                 - (last.client - first.client)) / seconds, 2),
    }


# --- one service run -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What every service run does."""
    index: Path
    questions: list[str]
    seed: int
    concurrency: list[int]
    warmup: float
    duration: float
    max_requests: int
    k: int
    honour_retry_after: bool


def warm_up(client: httpx.Client, base_url: str, questions: Iterator[str], k: int) -> None:
    """A few searches one at a time, not counted (the model's and the index's first-use costs)."""
    for _ in range(SERVICE_WARMUP):
        response = client.get(f"{base_url}/api/search", params={"q": next(questions), "k": k},
                              timeout=REQUEST_TIMEOUT)
        if response.status_code != 200:
            raise BenchmarkError(f"a warm-up search answered {response.status_code}: {response.text[:300]}")


def run_service(plan: Plan, workers: int, label: str, extra_env: dict[str, str]) -> dict[str, Any]:
    """Start a service with ``workers`` workers, run every level against it, stop it."""
    load_average = os.getloadavg()[0]
    questions = unique_questions(plan.questions, plan.seed)  # the same sequence for every service
    service = start_service(plan.index, workers, extra_env)
    try:
        with httpx.Client() as client:
            health = wait_until_ready(service, client)
            readiness = client.get(f"{service.base_url}/readyz", timeout=5.0).json()
            warm_up(client, service.base_url, questions, plan.k)
        levels = []
        for concurrency in plan.concurrency:
            time.sleep(PAUSE)
            result = asyncio.run(run_level(service.base_url, concurrency, questions, plan.k, plan.warmup,
                                           plan.duration, plan.max_requests, plan.honour_retry_after,
                                           service.process.pid))
            print(progress_line(label, workers, result), flush=True)
            levels.append(result)
    finally:
        stop_service(service)
    return {"label": label, "workers": workers, "env": extra_env, "load_average_at_start": round(load_average, 2),
            "model": health.get("model"), "passages": health.get("passages"),
            "index_version": health.get("index_version"), "search_slots": readiness.get("search_slots"),
            "queue_size": readiness.get("queue_size"), "levels": levels}


def progress_line(label: str, workers: int, r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    return (f"{label} workers={workers} clients={r['concurrency']:>3}: {r['throughput']:7.1f} ok/s, "
            f"p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} ms, 503 {r['refused']} "
            f"({100 * r['refused_share']:.0f} %, p50 {r['refused_ms']['p50']} ms), errors {r['errors'] or 0}, "
            f"service {r['service_cores']} cores {r['service_cores_by_process']}, client {r['client_cores']}, "
            f"others {r['other_cores']}, "
            f"client {r['client_cpu_ms_per_request']} ms CPU/request")


# --- targets and the report ------------------------------------------------------------------------

def targets(runs: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    """The two checks, on the runs with the project's defaults (label "default"), and the ceiling
    the machine puts on the first: its cores over the cores one worker used at its peak."""
    default = {r["workers"]: r for r in runs if r["label"] == "default"}
    best = {w: max(r["levels"], key=lambda level: level["throughput"]) for w, r in default.items()}
    peak = {w: level["throughput"] for w, level in best.items()}
    speedup = peak[2] / peak[1] if 1 in peak and 2 in peak and peak[1] > 0 else None
    one_worker_cores = best[1]["service_cores"] if 1 in best else None
    tails = {w: level["tail_ratio"] for w, r in default.items() for level in r["levels"]
             if level["concurrency"] == TAIL_CLIENTS}
    return {
        "peak_throughput": peak,
        "speedup_2_over_1": round(speedup, 2) if speedup is not None else None,
        "speedup_target": TARGET_SPEEDUP,
        "speedup_met": speedup >= TARGET_SPEEDUP if speedup is not None else None,
        "cores": cores,
        "one_worker_cores_at_peak": one_worker_cores,
        "speedup_ceiling": round(cores / one_worker_cores, 2) if one_worker_cores else None,
        "tail_ratio_at_64": tails,
        "tail_target": TARGET_TAIL,
        "tail_met": (all(t is not None and t <= TARGET_TAIL for t in tails.values()) if tails else None),
    }


def verdict(met: bool | None) -> str:
    return "not measured" if met is None else "MET" if met else "NOT MET"


def target_lines(t: dict[str, Any]) -> list[str]:
    peak = t["peak_throughput"]
    speed = (f"peak throughput {peak.get(2, 0):.1f} ok/s (2 workers) / {peak.get(1, 0):.1f} ok/s (1 worker) = "
             f"{t['speedup_2_over_1']}× (target ≥ {t['speedup_target']}×): {verdict(t['speedup_met'])}"
             if t["speedup_2_over_1"] is not None else "2 / 1 worker throughput: not measured")
    tails = ", ".join(f"{w} worker{'s' if w > 1 else ''} {v}×" for w, v in sorted(t["tail_ratio_at_64"].items()))
    tail = (f"p99 / p50 at {TAIL_CLIENTS} clients: {tails} (target ≤ {t['tail_target']}×): {verdict(t['tail_met'])}"
            if t["tail_ratio_at_64"] else f"p99 / p50 at {TAIL_CLIENTS} clients: not measured")
    lines = [speed, tail]
    if t["speedup_ceiling"] is not None:
        lines.append(f"one worker used {t['one_worker_cores_at_peak']} cores at its peak throughput; with "
                     f"{t.get('cores')} cores, more workers can add at most {t['speedup_ceiling']}× (the ceiling "
                     "on the first target, if every search costs the same CPU)")
    return lines


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


TABLE_HEADER = ("| run | workers | clients | ok/s | p50 ms | p95 ms | p99 ms | p99/p50 | took p50 ms | requests "
                "| 503 (share; busy / waited) | 503 p50 / p99 ms | other errors | service cores | client cores "
                "| other cores | service CPU ms/ok | client CPU ms/request |")
TABLE_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|"


def table_row(run: dict[str, Any], r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "0"
    return (f"| {run['label']} | {run['workers']} | {r['concurrency']} | {fmt(r['throughput'])} | "
            f"{fmt(lat['p50'])} | {fmt(lat['p95'])} | {fmt(lat['p99'])} | {fmt(r['tail_ratio'], 2)} | "
            f"{fmt(r['took_ms_p50'])} | {r['requests']:,} | {r['refused']:,} ({100 * r['refused_share']:.1f} %; "
            f"{r['refused_busy']:,} / {r['refused_waited']:,}) | {fmt(r['refused_ms']['p50'])} / {fmt(r['refused_ms']['p99'])} | {errors} | "
            f"{fmt(r['service_cores'], 2)} | {fmt(r['client_cores'], 2)} | {fmt(r['other_cores'], 2)} | "
            f"{fmt(r['service_cpu_ms_per_ok'])} | {fmt(r['client_cpu_ms_per_request'], 2)} |")


def table(runs: list[dict[str, Any]]) -> list[str]:
    return [TABLE_HEADER, TABLE_RULE, *(table_row(run, r) for run in runs for r in run["levels"])]


def method_paragraphs(meta: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    """What was measured, how the questions were made new, and the machine's state."""
    first = runs[0] if runs else {}
    refused = (", or after the `Retry-After` seconds when it was refused (503)" if meta["honour_retry_after"]
               else ", refused (503) or not")
    loads = ", ".join(f"{r['label']} {r['workers']} w: {r['load_average_at_start']}" for r in runs)
    return [
        (f"`{meta['command']}` on {meta['date']}, {meta['cpu_count']} cores, no GPU; the load generator runs on "
         f"the same machine, over loopback. Index {first.get('index_version')} ({first.get('model')}, "
         f"{first.get('passages')} passages), k = {meta['k']}. Per worker {first.get('search_slots')} searches "
         f"at once and {first.get('queue_size')} waiting (`PEERQA_MAX_SEARCHES`, `PEERQA_SEARCH_QUEUE`: the "
         "project's defaults unless a row's label says otherwise; read from the service's `/readyz`)."),
        (f"What was measured: the real service (`python -m service --workers N --api-only --no-watch`), started by "
         "the script for each worker count in turn; for each number of clients a closed loop: every client sends "
         f"`GET /api/search?q=…&k={meta['k']}` as soon as its previous answer came{refused}. "
         f"{meta['warmup_s']:g} s of warm-up, then {meta['duration_s']:g} s counted (at most "
         f"{meta['max_requests']:,} requests a level). Latencies are of the successful searches sent in the counted "
         "window, as the client sees them (send to decoded JSON); ok/s counts the successes completed in it; "
         "*took* is the service's own search time (`took_ms`, without the wait for a slot)."),
        (f"Uncached questions: {meta['questions']} distinct Danish questions (`lang` da of "
         f"{', '.join(meta['question_files'])}), shuffled with seed {meta['seed']} and cycled, each followed by "
         "two ordinary Danish words (one token each, such as `nu gerne` or `kommune uge`) drawn by the seeded "
         "generator and drawn again if that string was already sent, so no string reaches a service twice and "
         "its question-vector cache never answers. Every service gets the same sequence. The two words add two "
         "tokens to the ~20 of a question (about 10 % more encoder time than the bare questions)."),
        (f"Load average (1 min) at the start of each service run: {loads} (it decays over minutes and still counts "
         "this benchmark's own previous service runs; *other cores* below measures other work directly). "
         "*Service cores*: the CPU the service's "
         "processes used (all workers; 1.00 is one core busy the whole window); *client cores*: the load "
         "generator's; *other cores*: the rest of the machine's busy CPU (`/proc/stat`), i.e. other people's work; "
         "*service CPU ms/ok*: the service's CPU per successful search; *client CPU ms/request*: the load "
         "generator's CPU per request sent."),
    ]


def variant_paragraph(runs: list[dict[str, Any]]) -> list[str]:
    labels = list(dict.fromkeys(r["label"] for r in runs if r["label"] != "default"))
    if not labels:
        return []
    described = "; ".join(f"*{label}*: " + ", ".join(f"`{k}={v}`" for k, v in next(
        r["env"] for r in runs if r["label"] == label).items()) for label in labels)
    return [(f"Rows labelled other than *default* ran with extra variables in the service's environment: "
             f"{described}. The targets are checked on the default rows only."), ""]


def markdown(result: dict[str, Any]) -> str:
    runs = result["runs"]
    lines = ["# Load: throughput and latency against concurrent clients, one and two workers", ""]
    for paragraph in method_paragraphs(result["meta"], runs):
        lines += [paragraph, ""]
    lines += [*table(runs), "", *variant_paragraph(runs), "## Targets", "",
              *[f"- {line}" for line in target_lines(result["targets"])], ""]
    if result.get("notes"):
        lines += ["## Observations", "", result["notes"].strip(), ""]
    lines += ["![throughput and latency against concurrent clients](load.png)", ""]
    return "\n".join(lines)


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullLocator, ScalarFormatter

    fig, (speed, latency) = plt.subplots(1, 2, figsize=(12, 4.8))
    for number, run in enumerate(runs):
        name = f"{run['workers']} worker{'s' if run['workers'] > 1 else ''}"
        name += "" if run["label"] == "default" else f" ({run['label']})"
        clients = [r["concurrency"] for r in run["levels"]]
        colour = f"C{number}"
        style = "-" if run["label"] == "default" else ":"
        speed.plot(clients, [r["throughput"] for r in run["levels"]], marker="o", color=colour, linestyle=style,
                   label=name)
        latency.plot(clients, [r["latency_ms"]["p50"] or np.nan for r in run["levels"]], marker="o", color=colour,
                     linestyle=style, label=f"{name} p50")
        latency.plot(clients, [r["latency_ms"]["p99"] or np.nan for r in run["levels"]], marker="x", color=colour,
                     linestyle="--", label=f"{name} p99")
    speed.set(xscale="log", xlabel="concurrent clients", ylabel="successful searches / s",
              title="Uncached throughput")
    latency.set(xscale="log", yscale="log", xlabel="concurrent clients", ylabel="ms (successful searches)",
                title="Latency p50 and p99")
    ticks = sorted({r["concurrency"] for run in runs for r in run["levels"]})
    for axis in (speed, latency):
        axis.set_xticks(ticks, [str(t) for t in ticks])
        axis.xaxis.set_minor_locator(NullLocator())
        axis.grid(alpha=0.3)
    latency.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    latency.yaxis.set_major_formatter(ScalarFormatter())
    latency.yaxis.set_minor_locator(NullLocator())
    speed.legend(fontsize=8)
    latency.legend(fontsize=7, ncol=2, loc="upper left")
    speed.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the command -----------------------------------------------------------------------------------

def int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError("give whole numbers separated by commas")
    return values


@dataclass(frozen=True)
class Variant:
    """Extra variables for the service's environment, and the worker counts to run them with
    (None: every ``--workers``)."""
    label: str
    env: dict[str, str]
    workers: tuple[int, ...] | None = None


def variant(text: str) -> Variant:
    """``LABEL[@W+W…]:NAME=VALUE[,NAME=VALUE…]``."""
    head, _, assignments = text.partition(":")
    label, _, workers = head.partition("@")
    env = dict(a.split("=", 1) for a in assignments.split(",") if "=" in a)
    if not label or label == "default" or not env or (workers and not workers.replace("+", "").isdigit()):
        raise argparse.ArgumentTypeError("give LABEL[@W+W…]:NAME=VALUE[,NAME=VALUE…] with a label other than "
                                         "'default' (e.g. slots1:PEERQA_MAX_SEARCHES=1)")
    return Variant(label, env, tuple(int(w) for w in workers.split("+")) if workers else None)


def shown_command(argv: Sequence[str]) -> str:
    """The command for the report, without ``--notes FILE`` (it changes only the report's text)."""
    shown, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--notes="):
            skip = False
            continue
        if arg == "--notes":
            skip = True
            continue
        shown.append(arg)
    return shlex.join(["benchmarks/load.py", *shown])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/load.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int_list, default=[1, 4, 16, 64], help="clients per level (1,4,16,64)")
    parser.add_argument("--duration", type=float, default=8.0, help="counted seconds per level (8)")
    parser.add_argument("--warmup", type=float, default=1.0, help="uncounted seconds at the start of a level (1)")
    parser.add_argument("--workers", type=int_list, default=[1, 2], help="worker counts, one service each (1,2)")
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="the index to serve (var/index)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for load.md/.json/.png")
    parser.add_argument("--k", type=int, default=5, help="passages per search (5)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="most requests sent per level (20000)")
    parser.add_argument("--retry-after", choices=("honour", "ignore"), default="honour",
                        help="after a 503, wait its Retry-After (honour, the default) or ask again at once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", type=variant, action="append", default=[],
                        help="LABEL[@W+W…]:NAME=VALUE[,…]: also run every worker count (or those after @) with "
                             "these variables in the service's environment")
    parser.add_argument("--notes", type=Path, help="a Markdown file added to the report as its observations")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: rewrite OUT/load.md and load.png from OUT/load.json (with --notes)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not all(1 <= c <= MAX_CLIENTS for c in args.concurrency) or not all(1 <= w <= 8 for w in args.workers):
        parser.error(f"--concurrency must be 1 to {MAX_CLIENTS}, --workers 1 to 8")
    if not 0 < args.duration <= MAX_DURATION or not 0 <= args.warmup <= MAX_DURATION:
        parser.error(f"--duration must be above 0 and --warmup 0 or more, both at most {MAX_DURATION:g} s")
    if not all(1 <= w <= 8 for v in args.variant for w in v.workers or ()):
        parser.error("a variant's worker counts must be 1 to 8")
    if args.k < 1 or args.max_requests < 1:
        parser.error("--k and --max-requests must be at least 1")
    return args


def run(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%d %H:%M")
    questions, files = danish_questions(QUESTION_FILES)
    if not questions:
        raise DatasetError(f"no Danish question in {', '.join(map(str, QUESTION_FILES))}")
    index = args.index if args.index.is_absolute() else Path.cwd() / args.index
    plan = Plan(index, questions, args.seed, args.concurrency, args.warmup, args.duration, args.max_requests,
                args.k, args.retry_after == "honour")
    runs = []
    for v in [Variant("default", {}), *args.variant]:
        for workers in v.workers or args.workers:
            runs.append(run_service(plan, workers, v.label, v.env))
    meta = {"command": shown_command(argv), "date": started,
            "cpu_count": os.cpu_count(), "k": args.k, "warmup_s": args.warmup, "duration_s": args.duration,
            "max_requests": args.max_requests, "honour_retry_after": plan.honour_retry_after, "seed": args.seed,
            "questions": len(questions),
            "question_files": [os.path.relpath(p, ROOT) for p in files]}
    notes = args.notes.read_text(encoding="utf-8") if args.notes else None
    return {"meta": meta, "runs": runs, "targets": targets(runs, os.cpu_count() or 1), "notes": notes}


def write_outputs(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "load.md").write_text(markdown(result), encoding="utf-8")
    plot(result["runs"], out / "load.png")


def render(out: Path, notes: Path | None) -> int:
    """Rewrite the report and the plot from ``out/load.json``, with ``notes`` when given."""
    if not (out / "load.json").is_file():
        print(f"error: no {out / 'load.json'} to render; run the benchmark first", file=sys.stderr)
        return 2
    result = json.loads((out / "load.json").read_text(encoding="utf-8"))
    result["targets"]["peak_throughput"] = {int(w): v for w, v in result["targets"]["peak_throughput"].items()}
    result["targets"]["tail_ratio_at_64"] = {int(w): v for w, v in result["targets"]["tail_ratio_at_64"].items()}
    if notes is not None:
        result["notes"] = notes.read_text(encoding="utf-8")
    write_outputs(result, out)
    print(f"rewrote {out / 'load.md'} and load.png from load.json")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.render:
        return render(args.out, args.notes)
    if read_manifest(args.index) is None:
        build = ("make index" if args.index == DEFAULT_INDEX
                 else f".venv/bin/python -m indexer build --out {args.index}")
        print(f"error: no index at {args.index}; build one first with `{build}` "
              "(this benchmark does not build one itself)", file=sys.stderr)
        return 2
    try:
        result = run(args, argv)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BenchmarkError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_outputs(result, args.out)
    print("\n".join(table(result["runs"])))
    print("\n".join(target_lines(result["targets"])))
    print(f"wrote {args.out / 'load.md'}, load.json, load.png")
    met = [result["targets"]["speedup_met"], result["targets"]["tail_met"]]
    return 1 if args.check and False in met else 0


if __name__ == "__main__":
    raise SystemExit(main())
