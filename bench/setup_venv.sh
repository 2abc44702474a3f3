#!/usr/bin/env bash
# Creates the Python venv of `just bench-peft`: torch, transformers, peft and rouge-score
# from PyPI, under $LORAN_HOME/bench-venv (default ~/.cache/loran-lab/bench-venv).
# Idempotent: a stamp records the requirements it was built from. Prints the venv's python.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${LORAN_HOME:-$HOME/.cache/loran-lab}"
venv="$home/bench-venv"
torch_pin="torch==2.15.0"
stamp="$venv/.loran-stamp"
want="$(cat "$here/requirements.txt"; echo "$torch_pin")"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$venv/bin/python" -c "import torch, peft, rouge_score, bitsandbytes" 2>/dev/null; then
    echo "$venv/bin/python"
    exit 0
fi
command -v python3 >/dev/null || { echo "bench-peft needs python3 (3.10+) with venv and pip" >&2; exit 1; }
echo "setting up $venv (torch, transformers, peft, rouge-score from PyPI)..." >&2
python3 -m venv "$venv" >&2
"$venv/bin/pip" install -q --upgrade pip >&2
# PyPI's x86_64 torch is a CUDA build. `pip install torch --no-deps` was checked
# (torch 2.15.0, 2026-12): `import torch` then fails ("libcublasLt.so.*[0-9] not found"),
# because torch preloads the CUDA runtime at import even without a GPU, and peft's own
# requirement on torch makes pip add those wheels anyway. So torch comes with its
# dependencies (~4.5 GB of CUDA runtime wheels that stay unused on CPU).
"$venv/bin/pip" install -q "$torch_pin" -r "$here/requirements.txt" >&2
"$venv/bin/python" -c "import torch, transformers, peft, rouge_score; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'cuda available:', torch.cuda.is_available())" >&2
echo "$want" > "$stamp"
echo "$venv/bin/python"
