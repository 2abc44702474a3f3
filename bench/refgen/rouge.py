"""Google's rouge-score (rouge1, rouge2, rougeL, rougeLsum) on hand-made pairs, with and
without its Porter stemmer: one JSON line per case, [precision, recall, fmeasure]."""

import json
import os

from rouge_score import rouge_scorer

VARIANTS = ["rouge1", "rouge2", "rougeL", "rougeLsum"]

# (name, target, prediction): each probes one rule of rouge-score's tokenizer or scorer.
PAIRS = [
    ("basic", "The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log."),
    ("stemming", "The cats were running quickly towards the houses", "A cat ran quick toward the house"),
    ("punct_numbers", "GPT-4 scored 86.4% on MMLU, didn't it?", "gpt 4 scored 86 4 on mmlu did n t it"),
    ("non_ascii", "Café déjà vu: naïve résumé", "cafe deja vu naive resume"),
    ("clipping", "the the the the", "the cat the"),
    ("empty_pred", "a non empty reference", ""),
    ("short_words", "does goes was has", "doe goe wa ha"),
    ("lsum_multiline", "first sentence is here.\nsecond one is there.", "second one is here.\nfirst sentence is there."),
    ("lsum_blank_lines", "police killed the gunman.\n\nthe gunman was shot.", "the gunman was killed by police.\n \npolice shot him."),
    ("lsum_single_vs_multi", "police killed the gunman. the gunman was shot.", "the gunman was killed by police.\npolice shot him."),
    ("identical", "LoRA adapters merge into the base weights", "LoRA adapters merge into the base weights"),
    ("disjoint", "alpha beta gamma", "delta epsilon zeta"),
]


def write(out):
    lines = []
    for use_stemmer in (False, True):
        scorer = rouge_scorer.RougeScorer(VARIANTS, use_stemmer=use_stemmer)
        for name, target, prediction in PAIRS:
            scores = scorer.score(target, prediction)
            case = {"case": name, "use_stemmer": use_stemmer, "target": target, "prediction": prediction}
            for v in VARIANTS:
                s = scores[v]
                case[v] = [s.precision, s.recall, s.fmeasure]
            lines.append(json.dumps(case, ensure_ascii=False))
    with open(os.path.join(out, "rouge_cases.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")
