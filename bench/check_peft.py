"""PEFT's side of `just check-peft`: PEFT interop on real files, in both directions.

`loran-bench peft-export --out DIR` has written, from loran-lab:
  DIR/base/              the tiny fixture model as an HF folder
  DIR/ours/              a LoRA adapter on it in PEFT's layout (random nonzero B)
  DIR/ours_logits.json   the logits loran-lab's adapted model gives on fixed token ids
  DIR/merged/            that adapter merged into the base (`loran merge`'s folder)

This script
  1. loads DIR/base with transformers and DIR/ours with PeftModel.from_pretrained, and
     compares its logits with ours_logits.json (loran -> PEFT);
  2. loads DIR/merged with transformers alone and compares the same way (merged folder);
  3. makes a LoRA adapter with PEFT itself (get_peft_model on DIR/base, r != alpha,
     nonzero lora_B), saves it with save_pretrained to DIR/peft/ and its logits to
     DIR/peft_logits.json, for `loran-bench peft-logits` to check (PEFT -> loran).

It prints the largest absolute logit difference of 1 and 2 and exits 1 if either is
above --tol (after writing part 3, so the other direction still runs).
"""

import argparse
import json
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import LlamaForCausalLM
from transformers.utils import logging as hf_logging


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="the folder loran-bench peft-export wrote")
    p.add_argument("--tol", type=float, default=1e-4, help="largest accepted absolute logit difference")
    p.add_argument("--seed", type=int, default=0, help="seed of PEFT's own adapter (part 3)")
    return p.parse_args()


def load_base(path):
    model = LlamaForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    return model.eval()


@torch.no_grad()
def logits_of(model, ids):
    return model(input_ids=torch.tensor([ids])).logits[0].to(torch.float32)


def max_diff(a, b):
    return (a - b).abs().max().item()


def report(label, got, want, base):
    diff = max_diff(got, want)
    moved = max_diff(want, base)
    print(f"{label}: max |Δlogit| = {diff:.3e} over {want.numel()} logits (the adapter moves the logits by up to {moved:.3e})")
    return diff


def main():
    args = parse_args()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.set_num_threads(int(os.environ.get("RAYON_NUM_THREADS", "2")))
    with open(os.path.join(args.dir, "ours_logits.json")) as f:
        ours = json.load(f)
    ids = ours["ids"]
    want = torch.tensor(ours["logits"], dtype=torch.float32)
    base_dir = os.path.join(args.dir, "base")
    base = logits_of(load_base(base_dir), ids)

    adapted = PeftModel.from_pretrained(load_base(base_dir), os.path.join(args.dir, "ours")).eval()
    d_peft = report("loran → PEFT", logits_of(adapted, ids), want, base)
    merged = load_base(os.path.join(args.dir, "merged"))
    d_merged = report("loran merge → transformers", logits_of(merged, ids), want, base)

    # PEFT's own adapter: r = 8, alpha = 20 (scale 2.5), on q, v and the MLP's up projection.
    torch.manual_seed(args.seed)
    config = LoraConfig(r=8, lora_alpha=20, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "up_proj"], task_type="CAUSAL_LM")
    theirs = get_peft_model(load_base(base_dir), config).eval()
    with torch.no_grad():
        for name, param in theirs.named_parameters():
            if "lora_B" in name:
                param.uniform_(-0.5, 0.5)
    theirs.save_pretrained(os.path.join(args.dir, "peft"))
    peft_ids = list(reversed(ids))
    with open(os.path.join(args.dir, "peft_logits.json"), "w") as f:
        json.dump({"ids": peft_ids, "logits": logits_of(theirs, peft_ids).tolist()}, f)

    worst = max(d_peft, d_merged)
    if worst > args.tol:
        print(f"check_peft: max |Δlogit| {worst:.3e} is above the tolerance {args.tol:g}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
