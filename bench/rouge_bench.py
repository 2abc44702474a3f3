#!/usr/bin/env python3
"""The rouge-score side of `loran-bench rouge`.

Reads a JSONL file of {"prediction": ..., "reference": ...} pairs, scores every
pair with Google's rouge-score in the configuration loran_metrics reproduces
(rouge1, rouge2, rougeL, rougeLsum; the default tokenizer; rougeLsum sentences
are the non-empty lines, split_summaries=False), times the whole pass --reps
times after one untimed warm-up pass and prints one JSON line:

  {"pairs": N, "reps": R, "use_stemmer": true, "median_s": ..., "times_s": [...],
   "mean_f1": {"rouge1": ..., "rouge2": ..., "rougeL": ..., "rougeLsum": ...},
   "rouge_score_version": "0.1.2", "python_version": "3.11.7"}

The mean F1 of each type is the plain mean over pairs (what
loran_metrics::corpus_rouge reports), printed with full float precision so the
Rust side can compare the two implementations.
"""

import argparse
import importlib.metadata
import json
import platform
import statistics
import sys
import time

from rouge_score import rouge_scorer

ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", help="JSONL file of {prediction, reference} objects")
    parser.add_argument("--reps", type=int, default=5, help="timed passes over all pairs")
    parser.add_argument(
        "--no-stemmer",
        action="store_true",
        help="use_stemmer=False (the evaluation's default is use_stemmer=True)",
    )
    args = parser.parse_args()
    if args.reps < 1:
        parser.error("--reps must be at least 1")

    pairs = []
    with open(args.pairs, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                obj = json.loads(line)
                pairs.append((obj["reference"], obj["prediction"]))
    if not pairs:
        print(f"{args.pairs}: no pairs", file=sys.stderr)
        return 1

    use_stemmer = not args.no_stemmer
    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=use_stemmer)

    def score_all():
        # score(target, prediction), as loran_metrics::rouge(target, prediction).
        return [scorer.score(reference, prediction) for reference, prediction in pairs]

    scores = score_all()  # warm-up (and the scores we report)
    times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        score_all()
        times.append(time.perf_counter() - start)

    mean_f1 = {t: sum(s[t].fmeasure for s in scores) / len(scores) for t in ROUGE_TYPES}
    print(
        json.dumps(
            {
                "pairs": len(pairs),
                "reps": args.reps,
                "use_stemmer": use_stemmer,
                "median_s": statistics.median(times),
                "times_s": times,
                "mean_f1": mean_f1,
                "rouge_score_version": importlib.metadata.version("rouge-score"),
                "python_version": platform.python_version(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
