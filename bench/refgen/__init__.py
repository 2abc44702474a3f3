"""The parts of bench/gen_reference.py, one module each."""
