"""One PNG comparing the retrievers: quality metrics on the left, latency percentiles on the right."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence


def plot_comparison(path: Path, results: Mapping[str, Mapping[str, float]], metrics: Sequence[str],
                    title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(results)
    latency = ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]
    width = 0.8 / max(len(names), 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [len(metrics), 3]})
    for i, name in enumerate(names):
        offset = (i - (len(names) - 1) / 2) * width
        values = [results[name][m] for m in metrics]
        bars = left.bar(np.arange(len(metrics)) + offset, values, width, label=name)
        left.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=7, rotation=90, padding=2)
        lat = [results[name][m] for m in latency]
        bars = right.bar(np.arange(len(latency)) + offset, lat, width, label=name)
        right.bar_label(bars, labels=[f"{v:.0f}" for v in lat], fontsize=7, padding=2)
    left.set_xticks(range(len(metrics)), [m.replace("success", "S").replace("recall", "R") for m in metrics])
    left.set_ylim(0, 1.3)
    left.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    left.set_ylabel("score")
    left.set_title("quality (higher is better)")
    left.legend(loc="upper center", ncol=len(names), fontsize=8, frameon=False)
    right.set_xticks(range(len(latency)), ["p50", "p95", "p99"])
    right.set_ylabel("ms per query")
    right.set_title("latency (lower is better)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
