"""Seeded inputs and deterministic writers shared by the reference parts."""

import json
import os

import torch
from safetensors.torch import save_file


def randn(seed, *shape, scale=1.0):
    """torch.randn from its own generator: the same numbers on every machine."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float32) * scale).contiguous()


def tensor_table(tensors):
    """The dtype and shape of each tensor, for the JSON beside a safetensors file."""
    return {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape)} for k, v in tensors.items()}


def save(out, stem, meta, tensors, part):
    """Writes `<stem>.json` (meta plus the tensor table) and `<stem>.safetensors`."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    meta = dict(meta)
    meta["tensors"] = tensor_table(tensors)
    save_file(tensors, os.path.join(out, f"{stem}.safetensors"), metadata={"generator": f"bench/gen_reference.py {part}"})
    write_json(os.path.join(out, f"{stem}.json"), meta)


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
        f.write("\n")


def max_abs(a, b):
    return float((a.double() - b.double()).abs().max())


def portable_bitsandbytes():
    """Routes bitsandbytes' CPU NF4 dequantization through its own portable torch code.

    bitsandbytes 0.50.2's native CPU kernel (cdequantize_blockwise_cpu_nf4_fp32) picks
    its code path by CPU: on an AVX-512 machine it scales the second half of a 64-value
    block by the wrong absmax when a row is shorter than the block (our [48, 32] weight:
    max error 0.29 instead of 0.078). The portable path agrees with the independent numpy
    implementation in refgen.nf4 on every machine, so the files do not depend on the CPU.
    Returns True when the native kernel disagreed here (printed, never written).
    """
    import bitsandbytes.functional as F
    from bitsandbytes.backends.default.ops import _dequantize_4bit_compute
    from bitsandbytes.backends.utils import _get_4bit_code

    probe = randn(11, 48, 32)
    packed, state = F.quantize_4bit(probe, blocksize=64, quant_type="nf4")
    native = F.dequantize_4bit(packed, state)

    def dequantize(A, absmax, blocksize, quant_type, shape, dtype):
        if A.dtype != torch.uint8:
            A = A.view(torch.uint8)
        code = _get_4bit_code(quant_type, A.device)
        return _dequantize_4bit_compute(A.reshape(-1), absmax.float(), code, blocksize, shape, dtype)

    torch.library.register_kernel("bitsandbytes::dequantize_4bit", "cpu", dequantize)
    portable = F.dequantize_4bit(packed, state)
    return not torch.equal(native, portable)
