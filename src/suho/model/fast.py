"""A lean Gemma 3 decoder for inference: the same arithmetic as `transformers`' Gemma3TextModel, fewer, larger ops.

Why: for a 20-token query the model's matmuls take ~25 ms on two cores, and the generic HF forward adds as much again
in small ops (mask building, cache objects, hooks, separate q/k/v and gate/up projections). Here q/k/v are one matmul,
gate/up are one matmul, causal masking is SDPA's own, and the fixed chat-template prefix can be computed once and its
keys/values reused for every query (`prefix`). Loading needs neither `transformers` nor `peft`: the merged weights are
one file loaded with `mmap`, so only the embedding rows a query touches are read from disk (cold start, RSS).

It returns what the HF body returns (`.last_hidden_state`, `.cache`), so `Guard` uses either. Only the Gemma 3 text
architecture is supported; any other base runs on the HF path. A test compares the two on the same weights.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

FORMAT_VERSION = 3  # 3: activation maxima for int8 smoothing stored beside the weights
PRECISIONS = ("fp32", "int8")  # what the fast decoder computes in (training has its own: train.config)
_PROJECTIONS = ("qkv", "o", "gate_up", "down")
# int8 quantizes all four projections. Plain dynamic per-tensor int8 of all four costs about 0.05 dev F1; two things
# keep it within noise of fp32:
# - per-token activation scales: each row is divided by its own max before fbgemm's per-tensor quantization and the
#   output multiplied back (exact in real arithmetic), so one outlier token no longer flattens the others;
# - SmoothQuant-style per-channel smoothing (Xiao et al. 2023): input channel j of a projection is divided by
#   s_j = max|X_j|^a / max|W_j|^(1-a) and the weight column multiplied by it, moving outlier channels from the
#   activations into the per-output-channel-quantized weights. The division is folded exactly into the RMSNorm
#   weight before qkv and gate/up, into the v rows before o, and into the up rows before down.
# a = 0.65: the best of 0.35 / 0.5 / 0.65 / 0.8 on dev (the model card gives the F1 int8 costs).
SMOOTH_ALPHA = 0.65
_LAYER_NORMS = (
    "input_layernorm",
    "post_attention_layernorm",
    "pre_feedforward_layernorm",
    "post_feedforward_layernorm",
)


def _packed(w: torch.Tensor, precision: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """x [..., in] -> x @ w.T for a weight w [out, in], prepared once (see FastGemma3.pack)."""
    out_features = w.shape[0]
    if precision == "int8":
        scales = (w.abs().amax(1) / 127.0).clamp_min(1e-8).double()
        with warnings.catch_warnings():  # torch marks quantized tensors deprecated (moving to torchao); still works
            warnings.simplefilter("ignore", UserWarning)
            qw = torch.quantize_per_channel(w, scales, torch.zeros(out_features, dtype=torch.long), 0, torch.qint8)
        packed = torch.ops.quantized.linear_prepack(qw, None)

        def int8(x: torch.Tensor) -> torch.Tensor:
            x2 = x.reshape(-1, x.shape[-1])
            r = x2.abs().amax(-1, keepdim=True).clamp_min(1e-6)  # per-token scale, see the note on SMOOTH_ALPHA
            y = torch.ops.quantized.linear_dynamic(x2 / r, packed, True) * r
            return y.view(*x.shape[:-1], out_features)

        return int8
    if torch.backends.mkldnn.is_available():
        pw = torch.ops.mkldnn._reorder_linear_weight(w.contiguous(), 32)

        def onednn(x: torch.Tensor) -> torch.Tensor:
            return torch.ops.mkldnn._linear_pointwise(x, pw, None, "none", [None], "")

        return onednn
    return lambda x: F.linear(x, w)


def _smoothing(x_absmax: torch.Tensor, w_absmax: torch.Tensor, alpha: float = SMOOTH_ALPHA) -> torch.Tensor:
    """Per-input-channel divisors s (see SMOOTH_ALPHA); channels never seen active are not scaled up past 1/1000 of
    the median, so a query that does use them cannot overflow the int8 range."""
    x = x_absmax.clamp_min(max(float(x_absmax.median()) * 1e-3, 1e-6))
    return x**alpha / w_absmax.clamp_min(1e-6) ** (1 - alpha)


@dataclass
class Output:
    last_hidden_state: torch.Tensor
    cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    computed_from: int = 0  # positions before this came from the cached prefix, not from this call's layers


def supports(config) -> bool:
    """True for configs this decoder reproduces exactly (Gemma 3 text, causal, default RoPE, no soft-capping)."""
    get = config.get if isinstance(config, dict) else (lambda k, d=None: getattr(config, k, d))
    rope = get("rope_parameters") or {}
    return (
        get("model_type") == "gemma3_text"
        and not get("use_bidirectional_attention", False)
        and get("attn_logit_softcapping") is None
        and get("final_logit_softcapping") is None
        and all((rope.get(t) or {}).get("rope_type", "default") == "default" for t in set(get("layer_types") or []))
    )


def _rms(x: torch.Tensor, w1: torch.Tensor, eps: float) -> torch.Tensor:
    """Gemma RMSNorm with the (1 + weight) already folded into w1."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w1


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rot * sin


class FastGemma3:
    """Inference-only Gemma 3 text decoder over plain tensors (see the module docstring)."""

    def __init__(
        self,
        tensors: dict[str, torch.Tensor],
        meta: dict,
        precision: str = "fp32",
        act_absmax: dict[str, torch.Tensor] | None = None,
    ):
        self.meta = meta
        self.n_layers = meta["n_layers"]
        self.n_heads, self.n_kv, self.head_dim = meta["n_heads"], meta["n_kv"], meta["head_dim"]
        self.eps = meta["eps"]
        self.scaling = meta["query_pre_attn_scalar"] ** -0.5
        self.sliding_window = meta["sliding_window"]
        self.layer_types = meta["layer_types"]
        self.t = tensors
        # per projection ("{layer}.{qkv|o|gate_up|down}"): max |input| per channel over sample queries (int8 smoothing)
        self.act_absmax = dict(act_absmax or {})
        self._norm: dict[str, torch.Tensor] = {}  # RMSNorm weights of each layer (int8 folds smoothing into some)
        self.embed = tensors["embed"]
        self.embed_scale = torch.tensor(meta["hidden"] ** 0.5, dtype=self.embed.dtype)
        self.inv_freq = {
            kind: 1.0 / (base ** (torch.arange(0, self.head_dim, 2, dtype=torch.float) / self.head_dim))
            for kind, base in meta["rope_theta"].items()
        }
        # (prefix ids [1, p], per-layer keys/values, final hidden states) of the prompt prefix, see set_prefix
        self._prefix: tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]], torch.Tensor] | None = None
        self.precision = "fp32"
        self._lin: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
        self.pack(precision)

    # -- building ----------------------------------------------------------------------------------------------
    @classmethod
    def from_hf(cls, model) -> FastGemma3:
        """From an HF Gemma3ForCausalLM (LoRA already merged). Weights are copied; q/k/v and gate/up are fused."""
        cfg = model.config
        if not supports(cfg):
            raise ValueError(f"FastGemma3 does not support this model ({getattr(cfg, 'model_type', '?')})")
        body = model.model
        sd = {k: v.detach().float() for k, v in body.state_dict().items()}
        t: dict[str, torch.Tensor] = {"embed": sd["embed_tokens.weight"].contiguous(), "norm": 1.0 + sd["norm.weight"]}
        for i in range(cfg.num_hidden_layers):
            p = f"layers.{i}."
            a = p + "self_attn."
            t[f"{i}.qkv"] = torch.cat([sd[a + n + ".weight"] for n in ("q_proj", "k_proj", "v_proj")])
            t[f"{i}.o"] = sd[a + "o_proj.weight"].contiguous()
            t[f"{i}.q_norm"] = 1.0 + sd[a + "q_norm.weight"]
            t[f"{i}.k_norm"] = 1.0 + sd[a + "k_norm.weight"]
            t[f"{i}.gate_up"] = torch.cat([sd[p + "mlp.gate_proj.weight"], sd[p + "mlp.up_proj.weight"]])
            t[f"{i}.down"] = sd[p + "mlp.down_proj.weight"].contiguous()
            for n in _LAYER_NORMS:
                t[f"{i}.{n}"] = 1.0 + sd[p + n + ".weight"]
        meta = {
            "format": FORMAT_VERSION,
            "n_layers": cfg.num_hidden_layers,
            "hidden": cfg.hidden_size,
            "intermediate": cfg.intermediate_size,
            "n_heads": cfg.num_attention_heads,
            "n_kv": cfg.num_key_value_heads,
            "head_dim": cfg.head_dim,
            "eps": cfg.rms_norm_eps,
            "query_pre_attn_scalar": cfg.query_pre_attn_scalar,
            "sliding_window": cfg.sliding_window,
            "layer_types": list(cfg.layer_types),
            "rope_theta": {k: v["rope_theta"] for k, v in cfg.rope_parameters.items()},
        }
        return cls(t, meta)

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # one per writer: two processes may build at once
        try:
            torch.save({"meta": self.meta, "tensors": self.t, "act_absmax": self.act_absmax}, tmp)
            tmp.replace(path)  # a half-written file is never mistaken for a complete one
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, precision: str = "fp32") -> FastGemma3:
        """Memory-mapped: tensors are read from the file as they are touched (the 262k-row embedding mostly never)."""
        blob = torch.load(Path(path), mmap=True, weights_only=True)
        if blob.get("meta", {}).get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a FastGemma3 file of format {FORMAT_VERSION}")
        return cls(blob["tensors"], blob["meta"], precision, blob.get("act_absmax"))

    def n_body_params(self) -> int:
        return sum(v.numel() for k, v in self.t.items() if k != "embed")

    def pack(self, precision: str = "fp32") -> FastGemma3:
        """Prepare the projection matmuls once, for every later call.

        fp32: oneDNN's pre-packed weight layout (same arithmetic as a plain matmul, up to summation order; for a
        20-token query about twice as fast, because the weights are not re-packed on every call). int8: all four
        projections quantized (weights int8 per output channel, activations per call and per token, fbgemm) after
        the smoothing described at SMOOTH_ALPHA; needs `measure_activations` to have run. Its cost in accuracy is
        measured on dev by `bench/speed.py`.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        lin: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
        norm: dict[str, torch.Tensor] = {}
        for i in range(self.n_layers):
            # one layer at a time, so the fp32 copies that smoothing makes never add up to a second model in memory
            layer = self._smoothed_layer(i) if precision == "int8" else {k: self.t[k] for k in self._layer_keys(i)}
            for k, w in layer.items():
                name = k.rsplit(".", 1)[-1]
                if name in _PROJECTIONS:
                    lin[k] = _packed(w, precision)
                elif name in _LAYER_NORMS:
                    norm[k] = w
        self._lin, self._norm, self.precision = lin, norm, precision  # only now: a failed pack changes nothing
        if self._prefix is not None:  # its keys/values came from the old weights
            self.set_prefix(self._prefix[0][0].tolist())
        return self

    def _layer_keys(self, i: int) -> list[str]:
        return [f"{i}.{n}" for n in (*_PROJECTIONS, *_LAYER_NORMS)]

    def smoothed(self) -> dict[str, torch.Tensor]:
        """A copy of the tensors with the int8 smoothing folded in: the same function in exact arithmetic (a test
        checks it in fp32), with activation outlier channels moved into the weights."""
        t = dict(self.t)
        for i in range(self.n_layers):
            t.update(self._smoothed_layer(i))
        return t

    def _smoothed_layer(self, i: int) -> dict[str, torch.Tensor]:
        """Layer i's projections and norms with the smoothing of SMOOTH_ALPHA folded in (new tensors)."""
        keys = [f"{i}.{p}" for p in _PROJECTIONS]
        if any(k not in self.act_absmax for k in keys):
            raise ValueError(
                f"int8 needs activation statistics for every projection (layer {i} has none): run "
                "measure_activations() on representative queries first (suho.model.runtime does this when it builds "
                "the decoder file)"
            )
        t = {k: self.t[k] for k in self._layer_keys(i)}
        nq, nkv, hd = self.n_heads, self.n_kv, self.head_dim
        inter = self.meta["intermediate"]
        stats = self.act_absmax
        qkv, gate_up = t[f"{i}.qkv"], t[f"{i}.gate_up"]
        s = _smoothing(stats[f"{i}.qkv"], qkv.abs().amax(0))
        t[f"{i}.input_layernorm"] = t[f"{i}.input_layernorm"] / s
        qkv = qkv * s
        s = _smoothing(stats[f"{i}.gate_up"], gate_up.abs().amax(0))
        t[f"{i}.pre_feedforward_layernorm"] = t[f"{i}.pre_feedforward_layernorm"] / s
        gate_up = gate_up * s
        # o's input channel (head h, dim d) is v's channel d of h's key/value group: one divisor per (group, d)
        group = nq // nkv
        o = t[f"{i}.o"]
        x_max = stats[f"{i}.o"].view(nkv, group, hd).amax(1)
        w_max = o.abs().amax(0).view(nkv, group, hd).amax(1)
        s = _smoothing(x_max, w_max)  # [nkv, hd]
        qkv = torch.cat((qkv[: (nq + nkv) * hd], qkv[(nq + nkv) * hd :] / s.reshape(-1, 1)))
        t[f"{i}.o"] = o * s[:, None, :].expand(nkv, group, hd).reshape(-1)
        # down's input is gelu(gate) * up: divide the up rows
        down = t[f"{i}.down"]
        s = _smoothing(stats[f"{i}.down"], down.abs().amax(0))
        gate_up = torch.cat((gate_up[:inter], gate_up[inter:] / s[:, None]))
        t[f"{i}.down"] = down * s
        t[f"{i}.qkv"], t[f"{i}.gate_up"] = qkv, gate_up
        return t

    def measure_activations(self, sequences: Iterable[list[int]]) -> None:
        """Record max |input| per channel of every projection (fp32, one sequence at a time, so no padding is
        counted); an int8 engine is repacked with the new statistics."""
        seqs = [list(ids) for ids in sequences]
        if not seqs:
            raise ValueError("measure_activations() needs at least one sequence")
        precision = self.precision
        if precision != "fp32":
            self.pack("fp32")
        stats: dict[str, torch.Tensor] = {}
        plain = self._lin

        def recording(key: str, f: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
            def run(x: torch.Tensor) -> torch.Tensor:
                m = x.reshape(-1, x.shape[-1]).abs().amax(0)
                stats[key] = torch.maximum(stats[key], m) if key in stats else m
                return f(x)

            return run

        self._lin = {k: recording(k, f) for k, f in plain.items()}
        try:
            for ids in seqs:
                self(input_ids=torch.tensor([ids]))
        finally:
            self._lin = plain
        self.act_absmax = stats
        if precision != "fp32":
            self.pack(precision)

    # -- running -----------------------------------------------------------------------------------------------
    def _cos_sin(self, positions: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = positions[:, None].float() * self.inv_freq[kind]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    def set_prefix(self, ids: list[int]) -> None:
        """Compute the keys/values of a fixed prompt prefix once; later calls whose inputs start with it skip it."""
        self._prefix = None
        pids = torch.tensor([ids])
        out = self(input_ids=pids, use_cache=True)
        self._prefix = (pids, out.cache, out.last_hidden_state)

    @torch.inference_mode()
    def __call__(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
        use_cache: bool = False,
    ) -> Output:
        """Hidden states of the final norm, [batch, seq, hidden].

        Rows must be right-padded (padding after the tokens, as `Guard` builds them): causal attention never lets a
        real token see a pad, so `attention_mask` needs no other handling. With `cache` (from an earlier call with
        `use_cache=True`, batch 1) the new tokens continue that sequence.
        """
        bsz, n = input_ids.shape
        past = 0
        head = None  # the cached prefix's hidden states, put back in front of the result
        if cache is None and self._prefix is not None and not use_cache:
            pids, pcache, phidden = self._prefix
            p = pids.shape[1]
            if n > p and bool((input_ids[:, :p] == pids).all()):
                input_ids, past = input_ids[:, p:], p
                cache = [(k.expand(bsz, -1, -1, -1), v.expand(bsz, -1, -1, -1)) for k, v in pcache]
                head = phidden.expand(bsz, -1, -1)
                n -= p
        elif cache is not None:
            past = cache[0][0].shape[2]
        total = past + n
        h = F.embedding(input_ids, self.embed) * self.embed_scale
        positions = torch.arange(past, total)
        rope = {kind: self._cos_sin(positions, kind) for kind in self.inv_freq}
        masks: dict[str, torch.Tensor] = {}
        if past or total > self.sliding_window:
            q_pos = positions[:, None]
            k_pos = torch.arange(total)[None, :]
            causal = k_pos <= q_pos
            masks["full_attention"] = causal
            masks["sliding_attention"] = causal & (k_pos > q_pos - self.sliding_window)
        new_cache = []
        nq, nkv, hd = self.n_heads, self.n_kv, self.head_dim
        t, lin, norm = self.t, self._lin, self._norm
        for i in range(self.n_layers):
            kind = self.layer_types[i]
            x = _rms(h, norm[f"{i}.input_layernorm"], self.eps)
            qkv = lin[f"{i}.qkv"](x)
            q, k, v = qkv.split((nq * hd, nkv * hd, nkv * hd), dim=-1)
            q = _rms(q.view(bsz, n, nq, hd), t[f"{i}.q_norm"], self.eps).transpose(1, 2)
            k = _rms(k.view(bsz, n, nkv, hd), t[f"{i}.k_norm"], self.eps).transpose(1, 2)
            v = v.view(bsz, n, nkv, hd).transpose(1, 2)
            cos, sin = rope[kind]
            q, k = _rope(q, cos, sin), _rope(k, cos, sin)
            if cache is not None:
                k = torch.cat((cache[i][0], k), dim=2)
                v = torch.cat((cache[i][1], v), dim=2)
            if use_cache:
                new_cache.append((k, v))
            if nkv != nq:
                k = k.repeat_interleave(nq // nkv, dim=1)
                v = v.repeat_interleave(nq // nkv, dim=1)
            mask = masks.get(kind)
            if mask is None:
                a = F.scaled_dot_product_attention(q, k, v, is_causal=n > 1, scale=self.scaling)
            else:
                a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scaling)
            a = lin[f"{i}.o"](a.transpose(1, 2).reshape(bsz, n, nq * hd))
            h = h + _rms(a, norm[f"{i}.post_attention_layernorm"], self.eps)
            x = _rms(h, norm[f"{i}.pre_feedforward_layernorm"], self.eps)
            gate, up = lin[f"{i}.gate_up"](x).chunk(2, dim=-1)
            x = lin[f"{i}.down"](F.gelu(gate, approximate="tanh") * up)
            h = h + _rms(x, norm[f"{i}.post_feedforward_layernorm"], self.eps)
        h = _rms(h, t["norm"], self.eps)
        if head is not None:
            return Output(torch.cat((head, h), dim=1), None, computed_from=past)
        return Output(h, new_cache if use_cache else None)
