"""PEFT LoRA on one nn.Linear(32, 48): forward, loss, gradients and merge, plus the
adapter folder PEFT writes for it."""

import os
import shutil

import torch
from peft import LoraConfig, get_peft_model

from refgen.common import max_abs, randn, save

IN, OUT, R, ALPHA = 32, 48, 4, 8
SEEDS = {"W": 100, "b": 101, "A": 102, "B": 103, "x": 104, "g": 105}


class Toy(torch.nn.Module):
    """The smallest model with one LoRA target named `proj`."""

    def __init__(self, quantized=None):
        super().__init__()
        self.proj = quantized if quantized is not None else torch.nn.Linear(IN, OUT)

    def forward(self, x):
        return self.proj(x)


def inputs():
    """W, b, A, B, x and g from fixed seeds; B is non-zero so the update is visible."""
    return {
        "W": randn(SEEDS["W"], OUT, IN, scale=IN**-0.5),
        "b": randn(SEEDS["b"], OUT, scale=0.1),
        "A": randn(SEEDS["A"], R, IN, scale=0.1),
        "B": randn(SEEDS["B"], OUT, R, scale=0.1),
        "x": randn(SEEDS["x"], 5, IN),
        "g": randn(SEEDS["g"], 5, OUT),
    }


def lora_config():
    return LoraConfig(r=R, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=["proj"])


def peft_model(t, base=None):
    """PEFT's LoRA over `base` (an nn.Linear holding W, b by default), A and B overwritten."""
    model = Toy(base)
    # PEFT picks its bitsandbytes LoRA layer only for a model marked as loaded in 4 bits.
    model.is_loaded_in_4bit = base is not None
    if base is None:
        with torch.no_grad():
            model.proj.weight.copy_(t["W"])
            model.proj.bias.copy_(t["b"])
    model = get_peft_model(model, lora_config())
    layer = model.base_model.model.proj
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(t["A"])
        layer.lora_B["default"].weight.copy_(t["B"])
    return model, layer


def forward_backward(model, layer, t):
    """y, L = sum(y*g) and the gradients of A, B and x, as PEFT's autograd computes them."""
    x = t["x"].clone().requires_grad_(True)
    y = model(x)
    loss = (y * t["g"]).sum()
    loss.backward()
    return {
        "y": y.detach(),
        "L": loss.detach().reshape(1),
        "dL_dA": layer.lora_A["default"].weight.grad.detach().clone(),
        "dL_dB": layer.lora_B["default"].weight.grad.detach().clone(),
        "dL_dx": x.grad.detach().clone(),
    }


def closed_form_f64(t, w):
    """The same quantities in float64 from the formulas, cast to f32."""
    d = {k: v.double() for k, v in t.items()}
    s = ALPHA / R
    w = w.double()
    y = d["x"] @ w.T + d["b"] + s * (d["x"] @ d["A"].T) @ d["B"].T
    g = d["g"]
    return {
        "y64": y.float(),
        "dL_dA64": (s * d["B"].T @ g.T @ d["x"]).float(),
        "dL_dB64": (s * g.T @ (d["x"] @ d["A"].T)).float(),
        "dL_dx64": (g @ w + s * (g @ d["B"]) @ d["A"]).float(),
    }


def write_lora(out):
    t = inputs()
    model, layer = peft_model(t)
    got = forward_backward(model, layer, t)
    f64 = closed_form_f64(t, t["W"])
    merged = model.merge_and_unload().proj.weight.detach().clone()
    meta = {
        "in_features": IN,
        "out_features": OUT,
        "bias": True,
        "r": R,
        "lora_alpha": ALPHA,
        "scaling": ALPHA / R,
        "lora_dropout": 0.0,
        "formula": "y = x W^T + b + (alpha/r) * (x A^T) B^T ;  L = sum(y * g)",
        "grads": {
            "dL_dA": "(alpha/r) * B^T g^T x  [r, in]",
            "dL_dB": "(alpha/r) * g^T (x A^T)  [out, r]",
            "dL_dx": "g W + (alpha/r) * (g B) A  [5, in]",
        },
        "W_merged": "W + (alpha/r) * B @ A  (PEFT merge_and_unload)",
        "suffix_64": "y64/dL_*64 = the same computed in float64 from the formulas, then cast to f32",
        "seeds": SEEDS,
        "init": "torch.randn(generator=manual_seed(seed)) * scale: W*in^-0.5, b*0.1, A*0.1, B*0.1, x*1, g*1 (PEFT's init overwritten; B non-zero)",
        "f32_vs_f64": {
            "y_maxabs_vs_f64": max_abs(got["y"], f64["y64"]),
            "dA_maxabs_vs_f64": max_abs(got["dL_dA"], f64["dL_dA64"]),
            "dB_maxabs_vs_f64": max_abs(got["dL_dB"], f64["dL_dB64"]),
            "dx_maxabs_vs_f64": max_abs(got["dL_dx"], f64["dL_dx64"]),
        },
    }
    save(out, "lora_reference", meta, {**t, **got, "W_merged": merged, **f64}, "lora")


def write_peft_adapter(out):
    """PEFT's own save_pretrained of the adapter above (format fixture for our reader)."""
    t = inputs()
    model, _ = peft_model(t)
    folder = os.path.join(out, "peft_lora_adapter")
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
