#!/usr/bin/env bash
# Creates the Python venv of notebooks/explore.ipynb: polars, matplotlib, nbconvert and
# ipykernel (notebooks/requirements.txt), plus the Jupyter front end with --ui
# (notebooks/requirements-jupyter.txt), under $LORAN_HOME/notebook-venv (default
# ~/.cache/loran-lab/notebook-venv). Idempotent: a stamp records the requirements it was
# built from; a --ui venv also serves headless use. Prints the venv's python.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${LORAN_HOME:-$HOME/.cache/loran-lab}"
venv="$home/notebook-venv"
ui=0
[[ "${1:-}" == "--ui" ]] && ui=1
headless="$(cat "$here/requirements.txt")"
full="$(cat "$here/requirements.txt" "$here/requirements-jupyter.txt")"
stamp="$venv/.loran-stamp"
imports="import polars, matplotlib, nbconvert, ipykernel"
if [[ -f "$stamp" ]] && "$venv/bin/python" -c "$imports" 2>/dev/null; then
    have="$(cat "$stamp")"
    if [[ "$have" == "$full" || ( $ui == 0 && "$have" == "$headless" ) ]]; then
        echo "$venv/bin/python"
        exit 0
    fi
fi
command -v python3 >/dev/null || { echo "the notebook needs python3 (3.10+) with venv and pip" >&2; exit 1; }
echo "setting up $venv (polars, matplotlib, nbconvert, ipykernel$( ((ui)) && echo ', jupyter notebook') from PyPI)..." >&2
start=$(date +%s)
python3 -m venv "$venv" >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/$( ((ui)) && echo requirements-jupyter.txt || echo requirements.txt)" >&2
"$venv/bin/python" -c "$imports; print('polars', polars.__version__, 'matplotlib', matplotlib.__version__, 'nbconvert', nbconvert.__version__)" >&2
if ((ui)); then echo "$full" > "$stamp"; else echo "$headless" > "$stamp"; fi
echo "notebook venv ready in $(( $(date +%s) - start ))s" >&2
echo "$venv/bin/python"
