"""PEFT LoRA training steps on a randomly initialised LLaMA of SmolLM2-135M's shape.

The counterpart of `loran-bench peft`: it builds the same shape (hidden 576, 30 layers,
9 heads, 3 KV heads, FFN 1536, vocab 49152, tied embeddings), f32, and trains a PEFT
LoRA adapter with torch's AdamW on a causal-LM loss over every token of the batch.

Two modes:
  --serve     read one command per line from stdin and answer on stdout, so another
              process can alternate its own steps with ours:
                step  -> one optimizer step; prints "step <seconds> <loss>"
                rss   -> prints "rss <peak resident MiB of this process>"
                quit  -> exits
  (default)   run --warmup + --steps steps and print each step's time and the median.
"""

import argparse
import resource
import statistics
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

ALL_LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--r", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--targets", default=",".join(ALL_LINEARS))
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--serve", action="store_true")
    p.add_argument("--bf16", action="store_true", help="forward and loss under torch.autocast(cpu, bfloat16), as PEFT users train in bf16")
    return p.parse_args()


def smollm2_135m_shape():
    return LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        head_dim=64,
        max_position_embeddings=8192,
        rms_norm_eps=1e-5,
        rope_theta=100000.0,
        tie_word_embeddings=True,
        hidden_act="silu",
    )


class Bench:
    def __init__(self, args):
        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        base = LlamaForCausalLM(smollm2_135m_shape()).to(torch.float32)
        lora = LoraConfig(
            r=args.r,
            lora_alpha=args.alpha,
            lora_dropout=args.dropout,
            target_modules=args.targets.split(","),
            task_type="CAUSAL_LM",
        )
        self.model = get_peft_model(base, lora)
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.trainable = sum(p.numel() for p in params)
        self.opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
        self.args = args
        self.step_no = 0

    def batch(self):
        # Deterministic token ids, a fresh batch every step (as the Rust side does).
        a = self.args
        g = torch.Generator().manual_seed(1000 + self.step_no)
        return torch.randint(0, 49152, (a.batch, a.seq), generator=g)

    def step(self):
        ids = self.batch()
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.args.bf16):
            out = self.model(input_ids=ids, labels=ids)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - start
        self.step_no += 1
        return seconds, out.loss.item()


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    args = parse_args()
    bench = Bench(args)
    info = (
        f"torch {torch.__version__}, {'bf16 autocast' if args.bf16 else 'f32'}, threads {torch.get_num_threads()}, attention "
        f"{bench.model.base_model.model.config._attn_implementation}, trainable {bench.trainable}"
    )
    if args.serve:
        print(f"ready {info}", flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "step":
                s, loss = bench.step()
                print(f"step {s:.6f} {loss:.6f}", flush=True)
            elif cmd == "rss":
                print(f"rss {peak_rss_mib():.1f}", flush=True)
            elif cmd == "quit":
                return
            else:
                print(f"error unknown command {cmd!r}", flush=True)
        return
    print(info)
    times = []
    for i in range(args.warmup + args.steps):
        s, loss = bench.step()
        tag = "warm-up" if i < args.warmup else "timed"
        print(f"step {i + 1:>2} ({tag}): {s * 1e3:7.0f} ms  loss {loss:.4f}", flush=True)
        if i >= args.warmup:
            times.append(s)
    print(f"median {statistics.median(times) * 1e3:.0f} ms/step over {len(times)} steps; peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
