"""Writes the reference vectors that loran-lab's tests read, into tests/reference/.

Each part runs the library that defines the behaviour we copy, on inputs made here from
fixed seeds, and stores inputs and outputs side by side:

  lora     PEFT LoRA over nn.Linear: output, loss, gradients, merge    (peft)
  peft     the adapter folder PEFT's save_pretrained writes for it      (peft)
  qlora    PEFT LoRA over bitsandbytes Linear4bit, with and without double quantization
  nf4      bitsandbytes NF4 codes, packing, absmax, dequantization, double quantization
  rouge    Google's rouge-score on 24 hand-made pairs                   (rouge-score)
  smollm2  transformers' SmolLM2-135M on the dequantized GGUF of the offline asset;
           only with --smollm2-gguf (the test that reads it is ignored by default)

The output is byte-for-byte deterministic: `--check` regenerates into a scratch folder and
fails, naming each file, if anything differs from what is committed. Run it through
`just reference` (or `just reference --check`), which uses the bench venv (bench/setup_venv.sh:
torch, transformers, peft, bitsandbytes and rouge-score at pinned versions).
"""

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

# Each part and the files it writes.
OUTPUTS = {
    "lora": ["lora_reference.json", "lora_reference.safetensors"],
    "peft": ["peft_lora_adapter"],
    "qlora": ["qlora_reference.json", "qlora_reference.safetensors"],
    "nf4": ["nf4_reference.json", "nf4_reference.safetensors"],
    "rouge": ["rouge_cases.jsonl"],
    "smollm2": ["smollm2_reference.json"],
}
PARTS = list(OUTPUTS)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "tests", "reference"), help="folder to write (default tests/reference)")
    p.add_argument("--check", action="store_true", help="regenerate into a scratch folder and compare byte for byte")
    p.add_argument("--only", default=None, help=f"comma-separated parts ({','.join(PARTS)}); default: all but smollm2 unless --smollm2-gguf")
    p.add_argument("--smollm2-gguf", default=None, help="the SmolLM2-135M-Instruct Q4_1 GGUF of the offline asset (enables the smollm2 part)")
    return p.parse_args()


def versions():
    import numpy
    import peft
    import safetensors
    import torch
    import transformers

    out = {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": numpy.__version__}
    out["peft"] = peft.__version__
    out["transformers"] = transformers.__version__
    out["safetensors"] = safetensors.__version__
    try:
        import bitsandbytes

        out["bitsandbytes"] = bitsandbytes.__version__
    except ImportError:
        out["bitsandbytes"] = None
    return out


def generate(out, parts, smollm2_gguf):
    import torch

    # One thread: torch's reductions then sum in one order on every machine we have.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(out, exist_ok=True)
    from refgen import lora, nf4, rouge
    from refgen.common import portable_bitsandbytes

    if portable_bitsandbytes():
        print("note: bitsandbytes' native CPU NF4 dequantization disagrees with its portable path on this CPU; using the portable one", file=sys.stderr)

    if "lora" in parts:
        lora.write_lora(out)
    if "peft" in parts:
        lora.write_peft_adapter(out)
    if "qlora" in parts:
        from refgen import qlora

        qlora.write(out)
    if "nf4" in parts:
        nf4.write(out)
    if "rouge" in parts:
        rouge.write(out)
    if "smollm2" in parts:
        from refgen import smollm2

        smollm2.write(out, smollm2_gguf)
    write_manifest(out)


def write_manifest(out):
    files = {}
    for root, _, names in os.walk(out):
        for name in sorted(names):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, out)
            if rel == "MANIFEST.json":
                continue
            with open(path, "rb") as f:
                data = f.read()
            files[rel] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {
        "generator": "bench/gen_reference.py (run with `just reference`)",
        "versions": versions(),
        "files": dict(sorted(files.items())),
    }
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


def compare(committed, fresh, parts):
    """Names every file that differs between the committed folder and a fresh run."""
    problems = []
    for root, _, names in os.walk(fresh):
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(root, name), fresh)
            theirs = os.path.join(committed, rel)
            if not os.path.exists(theirs):
                problems.append(f"{rel}: not committed (run `just reference`)")
            elif not filecmp.cmp(theirs, os.path.join(fresh, rel), shallow=False):
                problems.append(f"{rel}: differs from a fresh run")
    return problems


def main():
    args = parse_args()
    if args.only:
        parts = [p.strip() for p in args.only.split(",") if p.strip()]
        unknown = [p for p in parts if p not in PARTS]
        if unknown:
            sys.exit(f"gen_reference.py: unknown part(s) {unknown}; choose from {PARTS}")
    else:
        parts = [p for p in PARTS if p != "smollm2" or args.smollm2_gguf]
    if "smollm2" in parts and not args.smollm2_gguf:
        sys.exit("gen_reference.py: the smollm2 part needs --smollm2-gguf PATH (run `just assets` for the file)")
    if not args.check:
        generate(args.out, parts, args.smollm2_gguf)
        print(f"wrote {args.out}")
        return
    scratch = tempfile.mkdtemp(prefix="loran-reference-")
    try:
        # The parts not rerun keep their committed files, so the manifest compares whole.
        for part in PARTS:
            for name in OUTPUTS[part] if part not in parts else []:
                src = os.path.join(args.out, name)
                if os.path.isdir(src):
                    shutil.copytree(src, os.path.join(scratch, name))
                elif os.path.exists(src):
                    shutil.copy(src, scratch)
        generate(scratch, parts, args.smollm2_gguf)
        problems = compare(args.out, scratch, parts)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if problems:
        print("reference vectors differ from a fresh run:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        sys.exit(1)
    print(f"{args.out}: every file byte-identical to a fresh run ({', '.join(parts)})")


if __name__ == "__main__":
    main()
