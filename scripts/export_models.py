#!/usr/bin/python3
"""scripts/export_models.py: the ONNX models of lowp's model tests, exported from PyTorch.

Every model has random weights (no pretrained weights can be downloaded here), made
deterministic by torch.manual_seed, and is exported in eval mode with torch.onnx.export:

  resnet18       torchvision ResNet-18, input [1, 3, 224, 224] float32
  mobilenet_v2   torchvision MobileNetV2, input [1, 3, 224, 224] float32
  squeezenet1_1  torchvision SqueezeNet 1.1, input [1, 3, 224, 224] float32
  minilm         a 6-layer BERT-style encoder shaped like MiniLM-L6 (d_model 384, 12 heads,
                 FFN 1536, erf GELU, post-LayerNorm, vocabulary 1000 instead of 30522),
                 inputs input_ids and attention_mask [1, 128] int64, output
                 last_hidden_state [1, 128, 384]; written the way Hugging Face's BERT is,
                 so that its graph has the same MatMul / Add / Softmax / Shape / Gather /
                 Unsqueeze / Concat / Reshape / Transpose patterns as a real BERT export
  simplenet      Linear(100, 50) -> ReLU -> Linear(50, 10), input [1, 100] float32 (the
                 demo's model, as in bench/simplenet_torch.py)

Each model is exported at opsets 9, 13 and 17. Dim 0 of every input and output is dynamic
("batch"), minilm's dim 1 too ("sequence"). Below opset 10 torch cannot export a slice by
a dynamic length (minilm's position ids); such a model is exported with static shapes
instead (its manifest entry then has empty dynamic_axes and a note), and an export that
still fails there is skipped with a message.

Written into the output directory (default build/models):
  NAME_opsetN.onnx            the model
  NAME.input_<input>.npy      one deterministic random input (the same for every opset):
                              standard normal float32, token ids in [0, 1000), a mask of ones
  NAME.torch_<output>.npy     PyTorch's output for that input
  models.json                 the manifest: for each model file its name, opset, inputs
                              (input name -> .npy), outputs (output name -> reference .npy)
                              and dynamic axes, plus the exports skipped and why. Entries of
                              models not exported in this run are kept (when their file is
                              still there), so subsets can be exported one after another.

Usage (Debian's Python, the only one that sees python3-torch; scripts/setup.sh installs it):
  /usr/bin/python3 scripts/export_models.py [--out DIR] [--only NAME[,NAME]] [--opsets 13,17]
Exits 1 if an export at opset 13 or later fails.
"""

import argparse
import json
import math
import os
import sys
import time
import warnings

MODEL_NAMES = ("resnet18", "mobilenet_v2", "squeezenet1_1", "minilm", "simplenet")
DEFAULT_OPSETS = (9, 13, 17)
MANIFEST = "models.json"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="build/models", help="output directory (default build/models)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(MODEL_NAMES)}")
    parser.add_argument("--opsets", default=",".join(map(str, DEFAULT_OPSETS)),
                        help="comma-separated ONNX opsets (default 9,13,17)")
    args = parser.parse_args()

    args.names = list(MODEL_NAMES)
    if args.only:
        args.names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in args.names if n not in MODEL_NAMES]
        if unknown or not args.names:
            parser.error(f"--only: unknown model {','.join(unknown) or '(none)'}; "
                         f"known: {','.join(MODEL_NAMES)}")
    try:
        args.opsets = sorted({int(o) for o in args.opsets.split(",") if o.strip()})
    except ValueError:
        parser.error(f"--opsets: want comma-separated integers, got '{args.opsets}'")
    if not args.opsets or any(o < 7 for o in args.opsets):
        parser.error(f"--opsets: want opsets >= 7, got '{args.opsets}'")
    return args


try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as err:
    sys.exit(f"export_models: cannot import torch and numpy with {sys.executable} ({err}); "
             "run scripts/setup.sh and use /usr/bin/python3")


# --- MiniLM-shaped BERT encoder ------------------------------------------------------------
# Module by module as in Hugging Face's modeling_bert.py (embeddings, self-attention with
# transpose_for_scores, output projections with residual + LayerNorm, intermediate GELU),
# so that tracing records the same shape arithmetic: x.size() becomes Shape -> Gather ->
# Unsqueeze -> Concat -> Reshape, the position ids a Slice of a buffer by the sequence length.

class MiniLMConfig:
    vocab_size = 1000           # MiniLM has 30522; 1000 keeps the file small
    max_positions = 512
    hidden = 384
    heads = 12
    intermediate = 1536
    layers = 6
    layer_norm_eps = 1e-12


class Embeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.position_embeddings = nn.Embedding(cfg.max_positions, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.register_buffer("position_ids", torch.arange(cfg.max_positions).expand((1, -1)))

    def forward(self, input_ids):
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, :seq_length]
        x = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        return self.LayerNorm(x)


class SelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.num_heads = cfg.heads
        self.head_size = cfg.hidden // cfg.heads
        self.all_head_size = self.num_heads * self.head_size
        self.query = nn.Linear(cfg.hidden, self.all_head_size)
        self.key = nn.Linear(cfg.hidden, self.all_head_size)
        self.value = nn.Linear(cfg.hidden, self.all_head_size)

    def transpose_for_scores(self, x):
        # [batch, seq, hidden] -> [batch, heads, seq, head_size]
        new_shape = x.size()[:-1] + (self.num_heads, self.head_size)
        return x.view(new_shape).permute(0, 2, 1, 3)

    def forward(self, hidden_states, extended_mask):
        q = self.transpose_for_scores(self.query(hidden_states))
        k = self.transpose_for_scores(self.key(hidden_states))
        v = self.transpose_for_scores(self.value(hidden_states))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        scores = scores + extended_mask
        probs = nn.functional.softmax(scores, dim=-1)
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        new_shape = context.size()[:-2] + (self.all_head_size,)
        return context.view(new_shape)


class DenseResidualNorm(nn.Module):
    """BertSelfOutput / BertOutput: LayerNorm(dense(x) + residual)."""

    def __init__(self, cfg, in_features):
        super().__init__()
        self.dense = nn.Linear(in_features, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Intermediate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.intermediate)

    def forward(self, x):
        x = self.dense(x)
        # GELU, erf form, as BERT writes it (exported as Div, Erf, Add, Mul, Mul).
        return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


class EncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = SelfAttention(cfg)
        self.attention_output = DenseResidualNorm(cfg, cfg.hidden)
        self.intermediate = Intermediate(cfg)
        self.output = DenseResidualNorm(cfg, cfg.intermediate)

    def forward(self, hidden_states, extended_mask):
        attn = self.attention_output(self.attention(hidden_states, extended_mask), hidden_states)
        return self.output(self.intermediate(attn), attn)


class MiniLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = Embeddings(cfg)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.layers))

    def forward(self, input_ids, attention_mask):
        # BERT's extended mask: [batch, seq] -> [batch, 1, 1, seq], 0 where attended and
        # -10000 where masked, added to every head's scores.
        extended = attention_mask[:, None, None, :].to(torch.float32)
        extended = (1.0 - extended) * -10000.0
        x = self.embeddings(input_ids)
        for layer in self.layers:
            x = layer(x, extended)
        return x


def init_minilm(model):
    """Random weights with the statistics of a trained encoder rather than BERT's init.

    BERT initializes weights with std 0.02, which leaves every attention row almost uniform
    (score std ~0.15) and every LayerNorm an identity affine map; a test would then not see a
    mistake in the softmax, the mask or the LayerNorm parameters. std 0.05 gives scores of
    std ~1.4, so softmax rows are peaked, and the biases and LayerNorm gains and offsets are
    drawn away from 0 and 1."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, 0.05)
                module.bias.normal_(0.0, 0.02)
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, 1.0)
            elif isinstance(module, nn.LayerNorm):
                module.weight.uniform_(0.8, 1.2)
                module.bias.normal_(0.0, 0.05)


# --- the models ----------------------------------------------------------------------------

def randomize_zero_biases(model):
    """Draws the biases torchvision initializes to zero (SqueezeNet's convolutions,
    MobileNetV2's classifier) from N(0, 0.02): with all-zero biases a test would not see a
    mistake in their handling, and torch would export equal initializers as one, linked by
    Identity nodes, which no trained model has."""
    with torch.no_grad():
        for module in model.modules():
            bias = getattr(module, "bias", None)
            if isinstance(module, (nn.Conv2d, nn.Linear)) and bias is not None \
                    and not bias.any():
                bias.normal_(0.0, 0.02)


def calibrate_batchnorm(model, shape, rng):
    """Sets BatchNorm running statistics from one batch of random inputs.

    Freshly made BatchNorms have mean 0 and variance 1, so in eval mode they do nothing and
    the activations of a deep random network grow or shrink layer by layer. After one
    train-mode pass over normal inputs each layer normalizes its channels as a trained
    network would, and the folded Conv weights and biases vary per channel."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch, exactly its statistics
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(rng.standard_normal(shape, dtype=np.float32)))
    model.eval()


def build(name):
    """Returns (module, inputs, output names, dynamic axes); inputs is a list of
    (name, numpy array). Weights and inputs depend only on the name, not on which other
    models are exported in the same run."""
    seed = MODEL_NAMES.index(name) + 1
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    image_batch = {"input": {0: "batch"}, "output": {0: "batch"}}

    if name in ("resnet18", "mobilenet_v2", "squeezenet1_1"):
        try:
            import torchvision
        except ImportError as err:
            sys.exit(f"export_models: cannot import torchvision ({err}); run scripts/setup.sh")
        model = getattr(torchvision.models, name)(weights=None)
        randomize_zero_biases(model)
        calibrate_batchnorm(model, (8, 3, 224, 224), rng)
        x = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
        return model.eval(), [("input", x)], ["output"], image_batch

    if name == "simplenet":
        model = nn.Sequential(nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 10))
        x = rng.standard_normal((1, 100), dtype=np.float32)
        return model.eval(), [("input", x)], ["output"], image_batch

    if name == "minilm":
        cfg = MiniLMConfig()
        model = MiniLM(cfg)
        init_minilm(model)
        ids = rng.integers(0, cfg.vocab_size, size=(1, 128), dtype=np.int64)
        mask = np.ones((1, 128), dtype=np.int64)
        dyn = {"input_ids": {0: "batch", 1: "sequence"},
               "attention_mask": {0: "batch", 1: "sequence"},
               "last_hidden_state": {0: "batch", 1: "sequence"}}
        return (model.eval(), [("input_ids", ids), ("attention_mask", mask)],
                ["last_hidden_state"], dyn)

    raise AssertionError(name)


# --- export ----------------------------------------------------------------------------------

def save_npy(path, array):
    tmp = path + ".tmp.npy"
    np.save(tmp, array)
    os.replace(tmp, path)


def export_onnx(model, args, path, opset, input_names, output_names, dynamic_axes):
    """torch.onnx.export into path (through a temporary file, so a failed export leaves no
    half-written model). Returns None, or the reason the export failed."""
    tmp = path + ".tmp"
    try:
        with warnings.catch_warnings():
            # Tracer and exporter notes (e.g. on constant folding of the position-id slice)
            # would bury the summary; a real failure raises.
            warnings.simplefilter("ignore")
            torch.onnx.export(model, args, tmp, opset_version=opset,
                              input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, do_constant_folding=True,
                              training=torch.onnx.TrainingMode.EVAL)
        os.replace(tmp, path)
        return None
    except Exception as err:  # noqa: BLE001: torch raises many types; each means "skip"
        if os.path.exists(tmp):
            os.remove(tmp)
        # torch appends the whole graph's signature ("[Caused by the value ...") to some
        # messages: keep the sentence.
        text = str(err).strip().split(" [Caused by")[0].strip()
        text = text.splitlines()[0] if text else ""
        return f"{type(err).__name__}: {text[:300]}"


def format_size(size):
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.1f} KiB"


def load_manifest(path):
    if not os.path.exists(path):
        return {"models": [], "skipped": []}
    try:
        with open(path) as f:
            manifest = json.load(f)
        manifest.setdefault("models", [])
        manifest.setdefault("skipped", [])
        return manifest
    except (OSError, ValueError) as err:
        print(f"export_models: ignoring unreadable {path} ({err})", file=sys.stderr)
        return {"models": [], "skipped": []}


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, MANIFEST)
    old = load_manifest(manifest_path)
    entries, skipped, failed = [], [], []
    started = time.perf_counter()

    for name in args.names:
        t0 = time.perf_counter()
        model, inputs, output_names, dynamic_axes = build(name)
        input_files = {}
        for input_name, array in inputs:
            input_files[input_name] = f"{name}.input_{input_name}.npy"
            save_npy(os.path.join(args.out, input_files[input_name]), array)
        torch_args = tuple(torch.from_numpy(array) for _, array in inputs)
        with torch.no_grad():
            outputs = model(*torch_args)
        if isinstance(outputs, torch.Tensor):
            outputs = (outputs,)
        output_files = {}
        for output_name, tensor in zip(output_names, outputs):
            output_files[output_name] = f"{name}.torch_{output_name}.npy"
            save_npy(os.path.join(args.out, output_files[output_name]), tensor.numpy())
        print(f"export_models: {name}: weights, input and reference "
              f"{time.perf_counter() - t0:.2f} s")

        for opset in args.opsets:
            t0 = time.perf_counter()
            file = f"{name}_opset{opset}.onnx"
            path = os.path.join(args.out, file)
            input_names = [n for n, _ in inputs]
            axes, note = dynamic_axes, None
            error = export_onnx(model, torch_args, path, opset, input_names, output_names, axes)
            if error and opset < 10 and axes:
                # Before opset 10, Slice takes its bounds as attributes, so torch cannot
                # export a slice by a dynamic length (minilm's position ids): the model is
                # still worth having at opset 9 (Unsqueeze with an axes attribute, Softmax-1),
                # with every shape static.
                note = f"static shapes: with dynamic axes, {error}"
                axes = {}
                error = export_onnx(model, torch_args, path, opset, input_names, output_names, None)
            seconds = time.perf_counter() - t0
            if error:
                if os.path.exists(path):
                    os.remove(path)  # an older export would no longer match the manifest
                print(f"export_models: skip {file}: {error}")
                skipped.append({"name": name, "opset": opset, "error": error})
                if opset >= 13:
                    failed.append(file)
                continue
            print(f"export_models: {file:28s} {format_size(os.path.getsize(path)):>9s} "
                  f"{seconds:6.2f} s" + (f" ({note})" if note else ""))
            entry = {"name": name, "opset": opset, "file": file,
                     "inputs": input_files, "outputs": output_files,
                     "dynamic_axes": {tensor: {str(d): v for d, v in dims.items()}
                                      for tensor, dims in axes.items()}}
            if note:
                entry["note"] = note
            entries.append(entry)

    # Keep the entries of models this run did not touch, when their files are still there.
    done = {(e["name"], e["opset"]) for e in entries} | {(s["name"], s["opset"]) for s in skipped}
    kept = [e for e in old["models"] if (e.get("name"), e.get("opset")) not in done
            and os.path.exists(os.path.join(args.out, e.get("file", "")))]
    kept_skips = [s for s in old["skipped"] if (s.get("name"), s.get("opset")) not in done]
    order = {n: i for i, n in enumerate(MODEL_NAMES)}
    manifest = {
        "generator": "scripts/export_models.py",
        "torch_version": torch.__version__,
        "models": sorted(kept + entries, key=lambda e: (order.get(e["name"], 99), e["opset"])),
        "skipped": sorted(kept_skips + skipped, key=lambda s: (order.get(s["name"], 99), s["opset"])),
    }
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, manifest_path)

    print(f"export_models: {len(entries)} models, {len(skipped)} skipped, "
          f"{time.perf_counter() - started:.1f} s, manifest {manifest_path}")
    if failed:
        sys.exit(f"export_models: export failed at opset >= 13: {', '.join(failed)}")


if __name__ == "__main__":
    main()
