"""PEFT LoRA over bitsandbytes' Linear4bit (NF4, blocksize 64, f32 compute) on the CPU,
without and with double quantization: the quantized weight, the output, the loss and
the gradients of A, B and x."""

import bitsandbytes as bnb
import torch

from refgen import lora
from refgen.common import max_abs, save

BLOCK = 64


def quantized_linear(t, double_quant):
    layer = bnb.nn.Linear4bit(
        lora.IN, lora.OUT, bias=True, compute_dtype=torch.float32, compress_statistics=double_quant, quant_type="nf4"
    )
    layer.weight = bnb.nn.Params4bit(
        t["W"].clone(), requires_grad=False, compress_statistics=double_quant, quant_type="nf4", blocksize=BLOCK
    )
    layer.bias = torch.nn.Parameter(t["b"].clone(), requires_grad=False)
    # Moving to a device is what quantizes a Params4bit.
    return layer.to("cpu")


def one_variant(t, prefix, double_quant, out_t, meta):
    base = quantized_linear(t, double_quant)
    state = base.weight.quant_state
    w_dequant = bnb.functional.dequantize_4bit(base.weight.data, state).reshape(lora.OUT, lora.IN).float()
    out_t[f"{prefix}_W_packed"] = base.weight.data.clone()
    if double_quant:
        out_t[f"{prefix}_W_absmax_q"] = state.absmax.reshape(-1).clone()
        out_t[f"{prefix}_W_offset"] = torch.tensor([float(state.offset)], dtype=torch.float32)
        out_t[f"{prefix}_W_state2_absmax"] = state.state2.absmax.float().clone()
    else:
        out_t[f"{prefix}_W_absmax"] = state.absmax.float().clone()
    out_t[f"{prefix}_W_dequant"] = w_dequant.clone()
    model, layer = lora.peft_model(t, base)
    if type(layer).__module__.split(".")[-1] != "bnb":
        raise SystemExit(f"qlora: PEFT wrapped the 4-bit layer as {type(layer)}, not its bitsandbytes LoRA layer")
    got = lora.forward_backward(model, layer, t)
    f64 = lora.closed_form_f64(t, w_dequant)
    for k, v in got.items():
        out_t[f"{prefix}_{k}"] = v
    meta[prefix] = {
        "compress_statistics": double_quant,
        "peft_layer": f"{type(layer).__module__}.{type(layer).__name__}",
        "y_maxabs_vs_f64_closed_form": max_abs(got["y"], f64["y64"]),
        "dx_maxabs_vs_f64_closed_form": max_abs(got["dL_dx"], f64["dL_dx64"]),
        "W_dequant_maxabs_err": max_abs(w_dequant, t["W"]),
    }


def write(out):
    t = lora.inputs()
    out_t = dict(t)
    meta = {
        "base": f"bnb.nn.Linear4bit({lora.IN}, {lora.OUT}, bias=True, compute_dtype=float32, quant_type='nf4'), blocksize {BLOCK}",
        "formula": "y = x dequant_nf4(W)^T + b + (alpha/r) (x A^T) B^T ;  L = sum(y * g)",
        "r": lora.R,
        "lora_alpha": lora.ALPHA,
        "seeds": lora.SEEDS,
    }
    one_variant(t, "nodq", False, out_t, meta)
    one_variant(t, "dq", True, out_t, meta)
    save(out, "qlora_reference", meta, out_t, "qlora")
