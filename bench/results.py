"""``bench/results.json``: a flat object of named figures, each ``{"value", "unit", "command",
"date"}`` plus optional ``"goal"`` (e.g. ``">= 0.90"``) and ``"note"``; ``bench/results.md`` is
rendered from it.

Run benchmarks one at a time: a write merges into the file as it was read, and two benchmarks
running together would skew each other's timings anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
from pathlib import Path
from typing import Any

from motionseq.fileio import atomic_write

PROJECT_JSON = Path(__file__).with_name("results.json")
JSON_PATH = PROJECT_JSON
MD_PATH = Path(__file__).with_name("results.md")
README_PATH = Path(__file__).resolve().parents[1] / "README.md"
# README.md shows the table between these lines; record() keeps it in step with the json.
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
# per-scene ETH/UCY figures stay in results.md; the README shows the means
_DETAIL_PREFIXES = tuple(f"ethucy_{s}_" for s in ("eth", "hotel", "univ", "zara1", "zara2"))


def headline(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The figures the README shows: all but the per-scene details."""
    return {k: v for k, v in results.items() if not k.startswith(_DETAIL_PREFIXES)}
REQUIRED = ("value", "unit", "command", "date")


def load(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The recorded figures ({} when the file does not exist yet)."""
    path = path or JSON_PATH
    return json.loads(path.read_text()) if path.exists() else {}


def check(name: str, figure: dict[str, Any]) -> None:
    """ValueError unless ``figure`` has every required key and a numeric value."""
    missing = [k for k in REQUIRED if k not in figure]
    if missing:
        raise ValueError(f"figure {name!r} lacks {', '.join(missing)}")
    value = figure["value"]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"figure {name!r} has a non-numeric value {value!r}")


def record(figures: dict[str, dict[str, Any]], json_path: Path | None = None,
           md_path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Merge ``figures`` into the results file (a missing ``date`` is today), keep every other
    figure, write atomically with sorted keys and re-render the markdown. Returns the merged
    results. The paths default to ``bench/results.json`` and ``bench/results.md``."""
    json_path, md_path = json_path or JSON_PATH, md_path or MD_PATH
    today = dt.date.today().isoformat()
    new = {name: {"date": today, **fig} for name, fig in figures.items()}
    for name, fig in new.items():
        check(name, fig)
    merged = {**load(json_path), **new}
    # a figure that is not a finite number (no validation split, say) is no figure
    merged = {k: merged[k] for k in sorted(merged) if math.isfinite(merged[k]["value"])}
    text = json.dumps(merged, indent=2, sort_keys=True) + "\n"
    atomic_write(json_path, lambda p: p.write_text(text))
    md = render(merged)
    atomic_write(md_path, lambda p: p.write_text(md))
    if json_path == PROJECT_JSON:  # the project's own results, not a scratch file
        update_readme(merged)
    return merged


def update_readme(results: dict[str, dict[str, Any]], path: Path | None = None) -> bool:
    """Replace the tables between the README's markers (the benchmark table, the ETH/UCY
    table); False when it has no benchmark markers."""
    path = path or README_PATH
    text = path.read_text() if path.is_file() else ""
    new = _between(text, README_START, README_END, table(headline(results))
                   + "\nPer-scene figures and a note on each figure: "
                     "[bench/results.md](bench/results.md).\n")
    if new is None:
        return False
    new = _between(new, ETHUCY_START, ETHUCY_END, ethucy_markdown(results)) or new
    new = _between(new, UEA_START, UEA_END, uea_markdown(results)) or new
    if new != text:
        atomic_write(path, lambda p: p.write_text(new))
    return True


def _between(text: str, start_mark: str, end_mark: str, body: str) -> str | None:
    start, end = text.find(start_mark), text.find(end_mark)
    if start < 0 or end < start:
        return None
    return text[:start + len(start_mark)] + "\n" + body + text[end:]


ETHUCY_START, ETHUCY_END = "<!-- ethucy:start -->", "<!-- ethucy:end -->"
SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
# Published five-scene means (ADE/FDE, metres, observe 8 / predict 12), shown beside ours.
PUBLISHED_DET = {"Social-LSTM": (0.72, 1.54), "Trajectron++": (0.52, 1.11),
                 "LMTraj-SUP": (0.48, 0.88), "SingularTrajectory": (0.47, 0.90)}
PUBLISHED_BEST20 = {"Social-GAN": (0.58, 1.18), "Trajectron++": (0.32, 0.55),
                    "SingularTrajectory": (0.21, 0.32), "MoFlow": (0.20, 0.32)}


def ethucy_markdown(results: dict[str, dict[str, Any]]) -> str:
    """ETH/UCY per scene and mean (ADE/FDE in metres): our rows from ``results``, then the
    published means. A row whose figures are not all recorded is left out."""
    ours = [("constant velocity", "ethucy_{s}_cvm_{m}", "ethucy_cvm_{m}"),
            ("least-squares line", "ethucy_{s}_linear_{m}", "ethucy_linear_{m}"),
            ("single agent (`model.social=false`)", "ethucy_{s}_single_{m}",
             "ethucy_det_{m}_single"),
            ("**social** (`experiment=forecast_ethucy`)", "ethucy_{s}_det_{m}", "ethucy_det_{m}"),
            ("social CVAE, most likely", "ethucy_{s}_ml_{m}", "ethucy_ml_{m}"),
            ("social CVAE, **best of 20**", "ethucy_{s}_best20_{m}", "ethucy_best20_{m}")]
    head = "| model | " + " | ".join(SCENES) + " | mean |"
    rows = [head, "|---|" + "---|" * (len(SCENES) + 1)]

    def pair(key: str) -> str | None:
        a, f = (results.get(key.format(m=m)) for m in ("ade", "fde"))
        return None if a is None or f is None else f"{a['value']:.3f}/{f['value']:.3f}"

    for label, scene_key, mean_key in ours:
        cells = [pair(scene_key.format(s=s, m="{m}")) for s in SCENES] + [pair(mean_key)]
        if all(c is not None for c in cells):
            rows.append(f"| {label} | " + " | ".join(cells) + " |")  # type: ignore[arg-type]
    blank = " | " * len(SCENES)
    for kind, table_ in (("deterministic", PUBLISHED_DET), ("best of 20", PUBLISHED_BEST20)):
        for name, (a, f) in table_.items():
            rows.append(f"| {name} (published, {kind}) |{blank}{a:.2f}/{f:.2f} |")
    return "\n".join(rows) + "\n"


UEA_START, UEA_END = "<!-- uea_dev:start -->", "<!-- uea_dev:end -->"
# (train, test) cases of the problems of ``make bench ARGS=uea_dev``, as the UEA/UCR archive
# splits them
UEA_PROBLEMS = {"ArrowHead": (36, 175), "ItalyPowerDemand": (67, 1029), "OSULeaf": (200, 242),
                "JapaneseVowels": (270, 370), "NATOPS": (180, 180)}


def uea_markdown(results: dict[str, dict[str, Any]]) -> str:
    """Test accuracy per problem of the plain ``data=uea`` command beside 1NN-DTW and ROCKET,
    and the means; a problem whose three figures are not all recorded is left out."""
    rows = ["| problem | cases (train / test) | ours | 1NN-DTW | ROCKET |",
            "|---|---|---:|---:|---:|"]
    for name, (train, test) in UEA_PROBLEMS.items():
        got = [results.get(f"uea_dev_{name}_{k}") for k in ("acc", "dtw", "rocket")]
        if all(g is not None for g in got):
            star = "*" if name == "JapaneseVowels" else ""
            rows.append(f"| {name} | {train} / {test} | " + " | ".join(
                f"{g['value']:.3f}" for g in got) + star + " |")  # type: ignore[index]
    means = [results.get(f"uea_dev_{k}_mean") for k in ("acc", "dtw", "rocket")]
    if all(m is not None for m in means):
        rows.append(f"| mean | | **{means[0]['value']:.3f}** | {means[1]['value']:.3f} | "
                    f"{means[2]['value']:.3f} |")  # type: ignore[index]
    seconds = results.get("uea_dev_train_seconds_max")
    if seconds is not None:
        rows.append(f"\nThe longest run took {seconds['value']:.0f} s (a whole process, 2 "
                    f"threads, 2 CPU cores; `uea_dev_train_seconds_max`).")
    return "\n".join(rows) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def table(results: dict[str, dict[str, Any]]) -> str:
    """The figures as a markdown table (figure, value, unit, goal, date, command)."""
    rows = ["| figure | value | unit | goal | date | command |", "|---|---:|---|---|---|---|"]
    for name in sorted(results):
        f = results[name]
        cells = [name, _number(f["value"]), f["unit"], f.get("goal", ""), f["date"],
                 f"`{f['command']}`"]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def render(results: dict[str, dict[str, Any]]) -> str:
    """``results.md``: a header, the table, then each figure's note."""
    notes = [f"- **{name}**: {_cell(results[name]['note'])}" for name in sorted(results)
             if results[name].get("note")]
    parts = [
        "# Benchmark results\n\n"
        "Generated by `make bench` from `bench/results.json`; never edit by hand. Each figure\n"
        "names the command that reproduces it; compare figures only within one run.\n",
        table(results),
    ]
    if notes:
        parts.append("## Notes\n\n" + "\n".join(notes) + "\n")
    return "\n".join(parts)
