"""The output folder: report.json, report.md, NAME.trec per retriever, qrels.trec, per_query.tsv, a PNG."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from eval import trec
from eval.harness import Evaluation, cutoff
from eval.plot import plot_comparison

LATENCY = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_mean_ms")
HIGHLIGHT = "highlight_accuracy"  # span files only (eval.highlights)
LABELS = {"ndcg": "nDCG", "recall": "Recall", "mrr": "MRR", "map": "MAP", "success": "Success",
          "latency_p50_ms": "p50 ms", "latency_p95_ms": "p95 ms", "latency_p99_ms": "p99 ms",
          "latency_mean_ms": "mean ms", HIGHLIGHT: "Highlight acc. (n)"}
HIGHLIGHT_DEFINITION = (
    "of the questions whose rank-1 passage answers under the hit rule (highlight_questions), the share "
    "whose highlighted spans share at least one whole word (a run of \\w characters) with the evidence "
    "located in that passage: the whole evidence span where the normalised passage contains it, otherwise "
    "its longest common substring with the passage, mapped back to raw offsets; no highlight counts as "
    "wrong; null when no question counts (eval/highlights.py)")
MAX_MISSES_SHOWN = 50
PLOT = "comparison.png"


def highlight_summary(result: dict) -> str:
    """``0.875 (of 24 rank-1 hits)``, or ``— (no rank-1 hit)``: the console's highlight figure."""
    n = result["highlight_questions"]
    if result[HIGHLIGHT] is None:
        return "— (no rank-1 hit)"
    return f"{result[HIGHLIGHT]:.3f} (of {n} rank-1 hit{'' if n == 1 else 's'})"


def _columns(evaluation: Evaluation) -> list[str]:
    """The quality columns of the results table: the metrics, and highlight accuracy on span files."""
    return [*evaluation.metrics, *([HIGHLIGHT] if evaluation.kind == "spans" else [])]


def label(metric: str) -> str:
    if "@" in metric:
        family, k = metric.split("@")
        return f"{LABELS.get(family, family)}@{k}"
    return LABELS.get(metric, metric)


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("ranx", "sentence-transformers", "torch", "faiss-cpu", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"nproc": os.cpu_count(), "cpu": cpu, "load_average_1_5_15_min": load, "platform": platform.platform(),
            "python": sys.version.split()[0], "packages": versions}


def build_report(evaluation: Evaluation, command: str, started: datetime, checks: list[dict],
                 runs_dir: Path | None = None) -> dict:
    runs = "" if runs_dir is None else f"{runs_dir}/"
    return {
        "command": command,
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "dataset": evaluation.dataset,
        "judgments": evaluation.judgments,
        "k": evaluation.k,
        "depth": evaluation.depth,
        "metrics": evaluation.metrics,
        "metric_definitions": {
            "computed_by": "ranx Qrels/Run/evaluate on each ranking in the order the retriever returned it",
            "ndcg": "linear gain (Järvelin & Kekäläinen): ranx 'ndcg', trec_eval 'ndcg_cut' "
                    "(not ranx 'ndcg_burges')",
            "relevant": "judgment >= 1",
            "success@k": "hit rate: share of queries with a relevant result in the top k (ranx 'hit_rate@k')",
            "map@k": "average precision over the top k, divided by all relevant (trec_eval 'map_cut')",
            "latency": "wall time per search of `depth` results measured by the harness, in ms",
            "trec_runs": "`depth` results per query with the retriever's scores; a tied score is written 1e-9 "
                         "below the one ranked before it, so every tool reads the ranking as evaluated",
            **({HIGHLIGHT: HIGHLIGHT_DEFINITION} if evaluation.kind == "spans" else {}),
        },
        "retrievers": evaluation.results,
        "best": {m: best_of(evaluation, m) for m in [*_columns(evaluation), *LATENCY]},
        "significance": evaluation.significance,
        "verification": evaluation.verification,
        "backend": evaluation.backend,
        "timing": evaluation.timing,
        "notes": evaluation.notes,
        "checks": checks,
        "files": {"runs": {name: f"{runs}{name}.trec" for name in evaluation.runs}, "qrels": f"{runs}qrels.trec",
                  "per_query": "per_query.tsv", "plot": PLOT},
    }


def best_of(evaluation: Evaluation, metric: str) -> list[str]:
    values = {name: r[metric] for name, r in evaluation.results.items() if r.get(metric) is not None}
    if not values:
        return []
    target = min(values.values()) if metric in LATENCY else max(values.values())
    return [name for name, v in values.items() if abs(v - target) <= 1e-12]


def write_outputs(evaluation: Evaluation, out: Path, report: dict, runs_dir: Path | None = None) -> list[Path]:
    """Write every file; the TREC runs and qrels go to ``runs_dir`` when given (large files).

    Each run file is read back: it must give every ranking exactly as evaluated
    (``verification.trec_read_back``; False fails the cross-check).
    """
    out.mkdir(parents=True, exist_ok=True)
    runs_dir = runs_dir or out
    runs_dir.mkdir(parents=True, exist_ok=True)
    written = []
    read_back = True
    try:
        for name in evaluation.runs:
            path = runs_dir / f"{name}.trec"
            trec.write_run(path, evaluation.rankings[name], evaluation.scores[name], name)
            written.append(path)
            expected = {qid: list(ids) for qid, ids in evaluation.rankings[name].items() if ids}
            read_back = read_back and trec.read_run(path) == expected
        trec.write_qrels(runs_dir / "qrels.trec", evaluation.qrels)
        written.append(runs_dir / "qrels.trec")
    except ValueError as exc:
        report["notes"].append(f"TREC files not written: {exc}.")
        read_back = None
    for verification in (evaluation.verification, report["verification"]):
        verification["trec_read_back"] = read_back
        verification["agree"] = bool(verification.get("agree", False)) and read_back is not False
    _write_per_query(out / "per_query.tsv", evaluation)
    plot_comparison(out / PLOT, evaluation.results, evaluation.metrics,
                    f"{evaluation.dataset['name']}: {evaluation.dataset['queries']} queries")
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(evaluation, report), encoding="utf-8")
    return [out / "report.json", out / "report.md", *written, out / "per_query.tsv", out / PLOT]


def _write_per_query(path: Path, evaluation: Evaluation) -> None:
    spans = evaluation.kind == "spans"
    columns = ["query_id", "retriever", "first_relevant_rank", *evaluation.metrics, "latency_ms", "abstain",
               *(["highlight"] if spans else [])]  # 1/0: highlight right/wrong; empty: no hit at rank 1
    with path.open("w", encoding="utf-8") as handle:
        handle.write("\t".join(columns) + "\n")
        for name, run in evaluation.runs.items():
            for qid in evaluation.qrels:
                result = run.queries.get(qid)
                rank = evaluation.first_rank(name, qid)
                cells = [qid, name, "" if rank is None else str(rank),
                         *(f"{evaluation.per_query[name][m][qid]:.6g}" for m in evaluation.metrics),
                         f"{result.latency_ms:.2f}" if result else "", str(bool(result and result.abstain)).lower()]
                if spans:
                    judgment = evaluation.highlights.get(name, {}).get(qid)
                    cells.append("" if judgment is None else str(int(judgment.correct)))
                handle.write("\t".join(cells) + "\n")


def _cell(evaluation: Evaluation, report: dict, name: str, metric: str) -> str:
    value = evaluation.results[name][metric]
    if value is None:
        return "—" + (f" ({evaluation.results[name]['highlight_questions']})" if metric == HIGHLIGHT else "")
    text = f"{value:.1f}" if metric in LATENCY else f"{value:.3f}"
    if name in report["best"].get(metric, []) and len(evaluation.results) > 1:
        text = f"**{text}**"
    test = evaluation.significance.get("comparisons", {}).get(name, {}).get(metric)
    if test and test["significant"]:
        reference = evaluation.results[evaluation.reference][metric]
        text += " ▲" if value > reference else " ▼"
    if metric == HIGHLIGHT:
        text += f" ({evaluation.results[name]['highlight_questions']})"
    return text


def _p_value(value: float | None) -> str:
    if value is None:
        return "identical"
    return "< 1e-300" if value == 0 else f"{value:.2g}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"


def markdown(evaluation: Evaluation, report: dict) -> str:
    data, sig, ver = evaluation.dataset, evaluation.significance, evaluation.verification
    machine_info = report["machine"]
    lines = [f"# Retrieval benchmark: {data['name']}", "",
             f"- Command: `{report['command']}`",
             f"- Date: {report['date']}",
             f"- Machine: {machine_info['nproc']} CPUs ({machine_info['cpu']}), {machine_info['platform']}, "
             f"Python {machine_info['python']}; load average at the end {_load(machine_info)}",
             f"- Total time: {_duration(evaluation.timing.get('total_seconds', 0.0))}",
             f"- Dataset: {data['kind']} `{data['path']}`" + (f", split `{data['split']}`" if "split" in data else "")
             + (f", {data['corpus']:,} corpus entries" if "corpus" in data else "")
             + f", {data['queries']:,} queries evaluated",
             f"- Judgments: {evaluation.judgments}",
             f"- Backend: {_backend_line(evaluation.backend)}", ""]
    lines += ["## Results", ""]
    columns = [*_columns(evaluation), *LATENCY]
    lines.append("| retriever | " + " | ".join(label(c) for c in columns) + " |")
    lines.append("|---|" + "---:|" * len(columns))
    for name in evaluation.results:
        lines.append(f"| {name} | " + " | ".join(_cell(evaluation, report, name, c) for c in columns) + " |")
    test_name = ("two-sided paired t-test (scipy `ttest_rel`, as ranx `compare` runs it)"
                 if sig.get("test") == "student" else "paired randomisation test (10,000 sign flips)")
    lines += ["", f"**Bold**: best value per column (lowest for latency). "
                  f"▲/▼: significantly better/worse than the reference `{evaluation.reference}` "
                  f"(best {label(sig.get('reference_metric', ''))}), {test_name}, "
                  f"p ≤ {sig.get('max_p')}, per metric, without correction for multiple comparisons. "
                  f"nDCG uses linear gain (ranx `ndcg`, trec_eval `ndcg_cut`); Success@k is the hit rate; "
                  f"latency is the wall time per search of {evaluation.depth} results (`--depth`) measured by the "
                  f"harness.", ""]
    if evaluation.kind == "spans":
        lines[-1:-1] = ["", "Highlight acc. (n): of the n questions whose rank-1 passage answers (the Success@1 hits), "
                            "the share whose highlighted sentence(s) share at least one whole word with the evidence "
                            "located in that passage; a passage with no highlight counts as wrong (see "
                            "*Highlight misses* and docs/evaluation.md). Each retriever is judged on its own rank-1 "
                            "hits, so this column has no significance test."]
    if sig.get("comparisons"):
        lines += [f"### p-values against `{evaluation.reference}`", "",
                  "| retriever | " + " | ".join(label(m) for m in evaluation.metrics) + " |",
                  "|---|" + "---:|" * len(evaluation.metrics)]
        for name, tests in sig["comparisons"].items():
            cells = [_p_value(tests[m]["p_value"]) for m in evaluation.metrics]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    read_back = {True: "they give back every ranking exactly as evaluated",
                 False: "**they do not give back the rankings evaluated**",
                 None: "not written"}[ver.get("trec_read_back")]
    lines += ["## Verification", "",
              f"Every metric above was computed by ranx {ver.get('ranx_version')} (`Qrels`, `Run`, `evaluate`) "
              f"on each ranking in the order the retriever returned it. The TREC runs were read back: {read_back}.",
              ]
    if "rank_rule_max_difference" in ver:
        lines.append(f"Success@1, Success@5 and MRR@10 recomputed with the rank rule of the question set's "
                     f"README: largest difference {ver['rank_rule_max_difference']:.1e}.")
    lines.append("" if ver.get("agree") else "**A cross-check failed: do not trust this report.**")
    if evaluation.kind == "spans":
        lines += _abstention(evaluation)
    if report["checks"]:
        lines += ["## Thresholds (--min)", "", "| retriever | metric | value | minimum | result |",
                  "|---|---|---:|---:|---|"]
        for c in report["checks"]:
            value = "—" if c["value"] is None else f"{c['value']:.4f}"
            lines.append(f"| {c['retriever']} | {c['metric']} | {value} | {c['minimum']} | "
                         f"{'pass' if c['passed'] else '**FAIL**'} |")
        lines.append("")
    if evaluation.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in evaluation.notes], ""]
    lines += _index_and_timing(evaluation)
    lines += _misses(evaluation)
    if evaluation.kind == "spans":
        lines += _highlight_misses(evaluation)
    files = report["files"]
    where = "" if "/" not in files["qrels"] else f" (in `{files['qrels'].rsplit('/', 1)[0]}`, not beside this report)"
    lines += ["## Files", "",
              "- `report.json`: everything above, machine-readable; `per_query.tsv`: every metric per query"
              + (" (and `highlight`: 1/0 whether the rank-1 highlight is right, empty without a rank-1 hit)."
                 if evaluation.kind == "spans" else "."),
              f"- `NAME.trec`: one TREC run per retriever, up to {evaluation.depth} results per query with the "
              f"retriever's own scores; `qrels.trec`: the judgments used{where}. A score that ties with the one ranked "
              f"before it is written 1e-9 lower, so every tool reads the rankings as evaluated. Recompute with e.g. "
              f"`trec_eval -c -m ndcg_cut.10 qrels.trec {next(iter(evaluation.runs))}.trec` or ranx "
              f"(see docs/evaluation.md).",
              f"- `{PLOT}`: the retrievers side by side.", "", f"![comparison]({PLOT})", ""]
    return "\n".join(lines)


def _load(machine_info: dict) -> str:
    load = machine_info.get("load_average_1_5_15_min")
    return "unknown" if not load else f"{load[0]} / {load[1]} / {load[2]} (1 / 5 / 15 min)"


def _backend_line(backend: dict) -> str:
    if backend.get("mode") == "api":
        health = backend.get("health", {})
        return (f"service at {backend.get('url')} over HTTP (index {health.get('index_version')}, "
                f"model {health.get('model')}, {health.get('passages')} passages)")
    manifest = backend.get("manifest", {})
    return (f"in-process `Searcher.search`, index build {manifest.get('build_id')} (model {manifest.get('model')}, "
            f"{manifest.get('passages')} passages); one search at a time on {backend.get('threads')} "
            f"torch/faiss thread(s)")


def _abstention(evaluation: Evaluation) -> list[str]:
    lines = ["## Abstention", "", "| retriever | answerable questions flagged | unanswerable questions flagged |",
             "|---|---:|---:|"]
    for name, r in evaluation.results.items():
        flagged = r.get("unanswerable_flagged")
        lines.append(f"| {name} | {r['abstain_rate']:.3f} | {'—' if flagged is None else f'{flagged:.3f}'} |")
    count = evaluation.dataset.get("unanswerable", 0)
    lines += ["", f"Unanswerable questions: {count} from `{evaluation.dataset.get('unanswerable_file')}`."
              if count else "No unanswerable question file was found beside the dataset.", ""]
    return lines


def _index_and_timing(evaluation: Evaluation) -> list[str]:
    lines = ["## Index and timing", ""]
    manifest = evaluation.backend.get("manifest") or evaluation.backend.get("health")
    if manifest:
        lines += ["Index manifest:", "", "```json", json.dumps(manifest, indent=2, ensure_ascii=False), "```", ""]
    if evaluation.backend.get("settings"):
        lines += ["Search settings (`indexer.settings.Settings`, from `PEERQA_*`):", "", "```json",
                  json.dumps(evaluation.backend["settings"], ensure_ascii=False), "```", ""]
    lines += ["| step | seconds |", "|---|---:|"]
    steps = {"index_seconds": "index the corpus (temporary build)", "load_seconds": "load index and model"}
    for key, text in steps.items():
        if key in evaluation.timing:
            lines.append(f"| {text} | {evaluation.timing[key]:.1f} |")
    for name, r in evaluation.results.items():
        lines.append(f"| queries ({name}) | {r['query_seconds']:.1f} |")
    lines.append(f"| **total** | {evaluation.timing.get('total_seconds', 0.0):.1f} |")
    return [*lines, ""]


def _misses(evaluation: Evaluation) -> list[str]:
    top = cutoff(evaluation.k)
    lines = ["## Misses", "", f"Queries whose first relevant result is not at rank 1 (rank `—`: none in the "
                                f"top {top}). All of them, with every metric, are in `per_query.tsv`.", ""]
    for name, run in evaluation.runs.items():
        missed = []
        for qid in evaluation.qrels:
            rank = evaluation.first_rank(name, qid)
            if rank != 1:
                missed.append((rank is not None, rank or 0, qid))
        missed.sort()
        none = sum(1 for found, _, _ in missed if not found)
        lines += [f"### {name}: {len(missed)} of {len(evaluation.qrels)} "
                  f"({none} with nothing relevant in the top {top})", ""]
        if not missed:
            continue
        lines += ["| query | rank | question | relevant | returned first |", "|---|---:|---|---|---|"]
        for _, rank, qid in missed[:MAX_MISSES_SHOWN]:
            relevant = evaluation.questions.get(qid) or ", ".join(sorted(evaluation.qrels[qid])[:3])
            returned = run.queries[qid].ids[0] if run.queries.get(qid) and run.queries[qid].ids else "—"
            lines.append(f"| {qid} | {rank or '—'} | {_md(evaluation.queries[qid])} | {_md(relevant, 90)} | "
                         f"{_md(returned)} |")
        if len(missed) > MAX_MISSES_SHOWN:
            lines.append(f"| … | | {len(missed) - MAX_MISSES_SHOWN} more in `per_query.tsv` | | |")
        lines.append("")
    return lines


def _highlight_misses(evaluation: Evaluation) -> list[str]:
    lines = ["## Highlight misses", "",
             "Questions whose rank-1 passage answers but whose highlight shares no word with the evidence located "
             "in that passage (or that have no highlight). *Highlighted*: the highlighted text; *evidence in the "
             "passage*: where the evidence lies in that same passage. Column `highlight` of `per_query.tsv` has "
             "every question (1 right, 0 wrong, empty: no hit at rank 1).", ""]
    for name, judgments in evaluation.highlights.items():
        missed = [(qid, j) for qid, j in judgments.items() if not j.correct]
        lines += [f"### {name}: {len(missed)} of {len(judgments)}", ""]
        if not missed:
            continue
        lines += ["| query | question | highlighted | evidence in the passage |", "|---|---|---|---|"]
        for qid, j in missed[:MAX_MISSES_SHOWN]:
            marked = " … ".join(_md(t, 200) for t in j.highlighted_text()) or "— (no highlight)"
            evidence = " … ".join(_md(t, 200) for t in j.evidence_text())
            lines.append(f"| {qid} | {_md(evaluation.queries[qid])} | {marked} | {evidence} |")
        if len(missed) > MAX_MISSES_SHOWN:
            lines.append(f"| … | {len(missed) - MAX_MISSES_SHOWN} more in `per_query.tsv` | | |")
        lines.append("")
    return lines


def _md(text: str, limit: int = 120) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def now() -> datetime:
    return datetime.now(timezone.utc)
