"""ONNX Runtime backend of the local encoder (same weights, same pooling, faster on CPU).

The bundled all-MiniLM-L6-v2 transformer is exported once from its local safetensors to ONNX (no
download), optionally graph-optimised by ONNX Runtime's BERT fusions (attention, LayerNorm, GELU), and
kept in a folder keyed by a hash of the weights. Inference tokenises with the model's own
``tokenizer.json`` (Rust ``tokenizers``), pads each batch only to its longest text, and applies the
model's mean pooling and L2 normalisation in NumPy: exactly the reference pipeline's steps.

Exports are written atomically, so two processes exporting at once both end with a complete file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of the bundled model


def _weights_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        p = folder / name
        h.update(name.encode())
        h.update(str(p.stat().st_size).encode())
        with p.open("rb") as fh:
            h.update(fh.read(1 << 20))  # the head is enough to tell versions apart cheaply
    return h.hexdigest()[:16]


def default_onnx_dir() -> Path:
    base = os.environ.get("CAMPAIGNLAB_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "campaignlab") / "onnx"


def export_onnx(model_folder: Path, out_dir: Path | None = None) -> Path:
    """Export (once) the bundled transformer to ONNX and return the optimised model's path."""
    out_dir = Path(out_dir) if out_dir else default_onnx_dir()
    name = f"all-MiniLM-L6-v2-{_weights_hash(model_folder)}.onnx"
    target = out_dir / name
    if target.is_file():
        return target
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(out_dir, os.W_OK):
            raise PermissionError(out_dir)
    except OSError:
        # A read-only home (some containers): export next to other temporary files instead.
        out_dir = Path(tempfile.gettempdir()) / "campaignlab-onnx"
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / name
        if target.is_file():
            return target
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_folder), local_files_only=True)
    bert.eval()

    class _Wrapper(torch.nn.Module):
        # Keyword arguments: the positional order of forward() differs between transformers versions.
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    model = _Wrapper().eval()
    dummy = {
        "input_ids": torch.ones((2, 16), dtype=torch.long),
        "attention_mask": torch.ones((2, 16), dtype=torch.long),
        "token_type_ids": torch.zeros((2, 16), dtype=torch.long),
    }
    with tempfile.TemporaryDirectory(dir=out_dir) as tmpd:
        raw = Path(tmpd) / "raw.onnx"
        axes = {0: "batch", 1: "seq"}
        with torch.no_grad():
            torch.onnx.export(
                model,
                (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
                str(raw),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "last_hidden_state": axes,
                },
                opset_version=17,
                dynamo=False,
            )
        final = Path(tmpd) / "final.onnx"
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            opt = optimize_model(str(raw), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
            opt.save_model_to_file(str(final))
        except Exception:
            os.replace(raw, final)
        os.replace(final, target)
    return target


class OnnxMiniLM:
    """Sentence embeddings of all-MiniLM-L6-v2 via ONNX Runtime.

    Args:
        model_folder: the bundled sentence-transformers folder.
        onnx_dir: where the exported model is kept.
        threads: intra-op threads (default: ONNX Runtime's choice, all cores).
    """

    def __init__(self, model_folder: Path, onnx_dir: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = export_onnx(model_folder, onnx_dir)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        # No busy-waiting between ops: on a shared 2-core machine spinning threads steal the CPU
        # that the other thread (or another process) needs, which costs more than it saves.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        tok = Tokenizer.from_file(str(model_folder / "tokenizer.json"))
        tok.enable_truncation(MAX_SEQ_LENGTH)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest text of the batch only
        self.tokenizer = tok

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n, 384) float32, L2-normalised mean-pooled token embeddings."""
        enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)  # (B, T)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)  # (B, T)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds = {k: v for k, v in feeds.items() if k in self.input_names}
        hidden = self.session.run(None, feeds)[0]  # (B, T, 384)
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norm, 1e-12, None)).astype(np.float32)
