"""Fitting the confidence model: how likely is it that the documents answer a question?

``python -m eval.calibrate`` asks the index every question of

- the answerable sets (label 1): the dev questions, the English questions and the Danish
  paraphrases, each with evidence spans;
- the unanswerable sets (label 0): questions the documents do not answer, on neighbouring
  social-sector topics (``eval/question_sets/near-domain-unanswerable.jsonl``, the shared
  unanswerable dev questions);
- out of domain (label 0): a seeded sample of Danish SQuAD questions, which the peer-support
  corpus cannot answer,

reads the ``retrieval.confidence.ConfidenceFeatures`` of each first passage and fits a logistic
regression on them (scikit-learn, standardised features, L2). Every number it reports comes from
*k*-fold cross-validation (each question scored by a model that did not see it), and the
Danish SQuAD share flagged is checked once more on a second, disjoint sample. The abstention
threshold is the highest that flags at most ``--max-false`` of the answerable questions in
cross-validation. The final model, fitted on everything, is written to ``--write`` (the
``confidence_model`` setting reads it); ``--report`` gets ``calibration.md`` and a reliability
diagram.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eval.beir import load_queries
from eval.questions import DatasetError, load_questions
from indexer.settings import settings_for_command
from indexer.store import IndexNotFound
from retrieval.confidence import ConfidenceFeatures, ConfidenceModel
from retrieval.searcher import Searcher

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
DEFAULT_ANSWERABLE = (SHARED / "dev-questions.jsonl", ROOT / "eval/question_sets/english.jsonl",
                      ROOT / "eval/question_sets/danish-paraphrases.jsonl")
DEFAULT_UNANSWERABLE = (SHARED / "unanswerable-dev.jsonl", ROOT / "eval/question_sets/near-domain-unanswerable.jsonl")
DEFAULT_OUT_OF_DOMAIN = SHARED / "external/danish-squad-dev"


@dataclass(frozen=True)
class Example:
    group: str  # the question set's file name, or "danish-squad" / "danish-squad-check"
    question: str
    label: int  # 1: the documents answer it
    features: np.ndarray


@dataclass(frozen=True)
class Fit:
    """Out-of-fold probabilities of the examples, and the model fitted on all of them."""

    probabilities: np.ndarray
    model: ConfidenceModel


def collect(searcher: Searcher, questions: list[tuple[str, str, int]]) -> list[Example]:
    """The features of each ``(group, question, label)``'s first passage."""
    examples = []
    for group, question, label in tqdm(questions, desc="questions", unit="q"):
        features = searcher.search(question, 1).confidence_features
        if features is None:
            raise SystemExit(f"no confidence features for {question!r}: the hybrid retriever and a "
                             f"question embedding are needed (and a non-empty index)")
        examples.append(Example(group, question, label, features.vector()))
    return examples


def fit_logistic(x: np.ndarray, y: np.ndarray, regularisation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(mean, scale, coefficients, intercept)`` of an L2 logistic regression on standardised ``x``."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=regularisation, max_iter=1000).fit((x - mean) / scale, y)
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def probabilities(x: np.ndarray, mean: np.ndarray, scale: np.ndarray, coefficients: np.ndarray,
                  intercept: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ coefficients + intercept)))


def cross_validated(x: np.ndarray, y: np.ndarray, folds: int, seed: int, regularisation: float) -> np.ndarray:
    """Each example's probability from a model fitted on the other folds (stratified)."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        out[test] = probabilities(x[test], *fit_logistic(x[train], y[train], regularisation))
    return out


def choose_threshold(answerable: np.ndarray, max_false: float) -> float:
    """The highest threshold that flags (``p < threshold``) at most ``max_false`` of ``answerable``:
    midway between the last answerable probability it may flag and the next one."""
    ordered = np.sort(answerable)
    allowed = int(np.floor(max_false * len(ordered) + 1e-9))  # how many may be flagged
    if allowed >= len(ordered):
        return 1.0
    upper = ordered[allowed]
    lower = ordered[allowed - 1] if allowed > 0 else 0.0
    return round(float((lower + upper) / 2), 4)


def flagged_share(p: np.ndarray, threshold: float) -> float:
    return float(np.mean(p < threshold)) if len(p) else float("nan")


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[tuple[float, float, float, int]]:
    """``(bin low, mean predicted, observed share answered, count)`` for each non-empty bin."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [(float(edges[b]), float(p[which == b].mean()), float(y[which == b].mean()), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    return sum(n * abs(mean - observed) for _, mean, observed, n in reliability(p, y, bins)) / max(len(p), 1)


def plot_reliability(path: Path, p: np.ndarray, y: np.ndarray, threshold: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = reliability(p, y)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 7), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    top.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    top.plot([r[1] for r in rows], [r[2] for r in rows], marker="o", label="confidence model (cross-validated)")
    top.axvline(threshold, color="tab:red", linestyle="--", label=f"abstain below {threshold:.3f}")
    top.set_ylabel("share of questions the documents answer")
    top.set_title("Reliability of the confidence (10 bins)")
    top.legend(loc="upper left")
    bottom.hist([p[y == 1], p[y == 0]], bins=20, range=(0, 1), stacked=True, label=["answerable", "unanswerable"])
    bottom.set_xlabel("confidence")
    bottom.set_ylabel("questions")
    bottom.legend(loc="upper center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def load_sets(answerable: list[Path], unanswerable: list[Path], explicit: bool) -> list[tuple[str, str, int]]:
    questions = []
    for paths, label in ((answerable, 1), (unanswerable, 0)):
        for path in paths:
            if not path.is_file() and not explicit:
                print(f"note: {path} not found, left out", file=sys.stderr)
                continue
            for q in load_questions(path).questions:
                if label == 1 and not q.evidence:
                    raise DatasetError(f"{path}: {q.id} has no evidence, but answerable questions need it")
                questions.append((path.stem, q.question, label))
    return questions


def squad_samples(folder: Path, size: int, check_size: int, seed: int) -> tuple[list[str], list[str]]:
    """Two disjoint seeded samples of the folder's questions: for the fit, and for the check."""
    texts = sorted(set(load_queries(folder / "queries.jsonl").values()))
    random.Random(seed).shuffle(texts)
    return texts[:size], texts[size:size + check_size]


def report_markdown(examples: list[Example], fit: Fit, check: np.ndarray, settings_line: str,
                    command: str, folds: int, max_false: float) -> str:
    y = np.array([e.label for e in examples])
    p = fit.probabilities
    threshold = fit.model.threshold
    lines = [
        "# Confidence calibration",
        "",
        f"Generated by `{command}` on {datetime.now(timezone.utc):%Y-%m-%d}. "
        f"Every number below is out of fold ({folds}-fold stratified cross-validation): each question is "
        "scored by a model that did not see it. The stored model is then fitted on all of them.",
        "",
        f"Abstention threshold: **{threshold:.4f}** (the highest flagging at most {max_false:.0%} of the "
        f"answerable questions). Brier score {np.mean((p - y) ** 2):.4f}, expected calibration error "
        f"{expected_calibration_error(p, y):.4f} (10 bins).",
        "",
        "| question set | label | questions | flagged `abstain` | mean confidence |",
        "|---|---|---:|---:|---:|",
    ]
    groups = sorted({e.group for e in examples}, key=lambda g: (-max(e.label for e in examples if e.group == g), g))
    for group in groups:
        mask = np.array([e.group == group for e in examples])
        label = "answerable" if y[mask][0] == 1 else "unanswerable"
        lines.append(f"| {group} | {label} | {mask.sum()} | {flagged_share(p[mask], threshold):.3f} | "
                     f"{p[mask].mean():.3f} |")
    for label, name in ((1, "all answerable"), (0, "all unanswerable")):
        mask = y == label
        lines.append(f"| **{name}** | | {mask.sum()} | {flagged_share(p[mask], threshold):.3f} | {p[mask].mean():.3f} |")
    if len(check):
        lines.append(f"| danish-squad, second sample (final model) | unanswerable | {len(check)} | "
                     f"{flagged_share(check, threshold):.3f} | {check.mean():.3f} |")
    lines += ["", "## The trade-off", "",
              "Other thresholds, chosen the same way for other budgets of answerable questions flagged "
              "(out of fold):", "",
              "| answerable flagged at most | threshold | answerable flagged | " + " | ".join(
                  f"{group} flagged" for group in groups if y[[e.group == group for e in examples]][0] == 0) + " |",
              "|---:|---:|---:|" + "---:|" * sum(1 for group in groups
                                                  if y[[e.group == group for e in examples]][0] == 0)]
    for budget in (0.0, 0.01, 0.03, 0.05, 0.10, 0.20, 0.30):
        cut = choose_threshold(p[y == 1], budget)
        cells = [f"{flagged_share(p[np.array([e.group == group for e in examples])], cut):.3f}"
                 for group in groups if y[[e.group == group for e in examples]][0] == 0]
        lines.append(f"| {budget:.0%} | {cut:.4f} | {flagged_share(p[y == 1], cut):.3f} | " + " | ".join(cells) + " |")
    lines += ["", "## Reliability", "", "![reliability diagram](reliability.png)", "",
              "| confidence bin | mean confidence | share answerable | questions |", "|---|---:|---:|---:|"]
    for low, mean, observed, n in reliability(p, y):
        lines.append(f"| {low:.1f}–{low + 0.1:.1f} | {mean:.3f} | {observed:.3f} | {n} |")
    lines += ["", "## The model", "", "| feature | coefficient (standardised) | mean | scale |", "|---|---:|---:|---:|"]
    m = fit.model
    for name, c, mu, s in zip(m.features, m.coefficients, m.mean, m.scale):
        lines.append(f"| {name} | {c:+.3f} | {mu:.4f} | {s:.4f} |")
    lines += [f"| (intercept) | {m.intercept:+.3f} | | |", "", f"Search settings: {settings_line}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answerable", type=Path, nargs="+", help="question files with evidence (label 1)")
    parser.add_argument("--unanswerable", type=Path, nargs="+", help="question files the documents do not answer")
    parser.add_argument("--out-of-domain", type=lambda value: Path(value) if value else None,
                        default=DEFAULT_OUT_OF_DOMAIN, help="a BEIR folder whose queries the documents do not answer "
                        "(default: Danish SQuAD; '' for none)")
    parser.add_argument("--sample", type=int, default=300, help="out-of-domain questions in the fit")
    parser.add_argument("--check-sample", type=int, default=500, help="a second, disjoint out-of-domain sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-false", type=float, default=0.03, help="largest share of answerable flagged")
    parser.add_argument("--regularisation", type=float, default=1.0, help="inverse L2 strength (scikit-learn C)")
    parser.add_argument("--write", type=Path, help="store the fitted model here (e.g. corpus/confidence.json)")
    parser.add_argument("--report", type=Path, help="folder for calibration.md and reliability.png")
    args = parser.parse_args(argv)

    settings = settings_for_command()
    try:
        searcher = Searcher.open(settings).with_settings(confidence_model=None, retriever="hybrid")
    except IndexNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    explicit = args.answerable is not None or args.unanswerable is not None
    try:
        questions = load_sets(list(args.answerable or DEFAULT_ANSWERABLE),
                              list(args.unanswerable or DEFAULT_UNANSWERABLE), explicit)
    except (DatasetError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fit_sample, check_sample = [], []
    if args.out_of_domain and (args.out_of_domain / "queries.jsonl").is_file():
        fit_sample, check_sample = squad_samples(args.out_of_domain, args.sample, args.check_sample, args.seed)
        questions += [("danish-squad", text, 0) for text in fit_sample]
    elif args.out_of_domain is not None and args.out_of_domain != DEFAULT_OUT_OF_DOMAIN:
        print(f"error: {args.out_of_domain}/queries.jsonl not found", file=sys.stderr)
        return 2
    labels = {label for _, _, label in questions}
    if labels != {0, 1}:
        print("error: both answerable and unanswerable questions are needed", file=sys.stderr)
        return 2

    examples = collect(searcher, questions)
    x = np.stack([e.features for e in examples])
    y = np.array([e.label for e in examples])
    folds = max(2, min(args.folds, int(np.bincount(y).min())))
    oof = cross_validated(x, y, folds, args.seed, args.regularisation)
    threshold = choose_threshold(oof[y == 1], args.max_false)
    mean, scale, coefficients, intercept = fit_logistic(x, y, args.regularisation)
    check = np.zeros(0)
    if check_sample:
        check_x = np.stack([e.features for e in collect(searcher, [("check", t, 0) for t in check_sample])])
        check = probabilities(check_x, mean, scale, coefficients, intercept)
    counts = {group: sum(e.group == group for e in examples) for group in sorted({e.group for e in examples})}
    model = ConfidenceModel(
        model=str(searcher.manifest.get("model", "")), features=ConfidenceFeatures.names(),
        mean=tuple(round(float(v), 6) for v in mean), scale=tuple(round(float(v), 6) for v in scale),
        coefficients=tuple(round(float(v), 6) for v in coefficients), intercept=round(intercept, 6),
        threshold=threshold,
        fitted_on={"questions": counts, "seed": args.seed, "folds": folds, "max_false": args.max_false,
                   "regularisation": args.regularisation, "index_build": searcher.version,
                   "cross_validated": {"answerable_flagged": round(flagged_share(oof[y == 1], threshold), 4),
                                       "unanswerable_flagged": round(flagged_share(oof[y == 0], threshold), 4),
                                       "brier": round(float(np.mean((oof - y) ** 2)), 4)}},
    )
    fit = Fit(oof, model)
    command = "python -m eval.calibrate " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report_markdown(examples, fit, check, f"`{searcher.settings.fusion}` fusion, dense weight "
                           f"{searcher.settings.weight_dense}, model `{model.model}`", command.strip(), folds,
                           args.max_false)
    print(text)
    if args.report:
        args.report.mkdir(parents=True, exist_ok=True)
        (args.report / "calibration.md").write_text(text, encoding="utf-8")
        plot_reliability(args.report / "reliability.png", oof, y, threshold)
        print(f"report: {args.report / 'calibration.md'} and reliability.png", file=sys.stderr)
    if args.write:
        model.save(args.write)
        print(f"model: {args.write} (the confidence_model setting)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
