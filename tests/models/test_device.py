"""Device selection: torch steps compute on the GPU when torch sees one, on the CPU otherwise (this
machine and CI have none), and a run that asks for ``cuda`` where there is none fails clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from campaignlab.errors import ConfigError
from campaignlab.models import registry
from campaignlab.models.base import torch_device
from campaignlab.models.data import Features
from tests.conftest import run_cli

QUICK = {"max_epochs": 2, "batch_size": 64, "proj_hidden": 16, "head_hidden": 16, "n_jobs": 1}


def test_auto_takes_the_gpu_only_when_torch_sees_one() -> None:
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch_device("auto").type == want
    assert torch_device().type == want
    assert torch_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="device: got 'tpu'"):
        torch_device("tpu")


def test_asking_for_cuda_without_a_gpu_names_the_fix() -> None:
    if torch.cuda.is_available():  # a GPU machine: cuda is granted
        assert torch_device("cuda").type == "cuda"
        return
    with pytest.raises(ConfigError) as err:
        torch_device("cuda")
    assert "no CUDA device is visible" in str(err.value) and "TORCH_VARIANT=cuda" in str(err.value)


def test_auto_and_cpu_train_the_same_model_on_a_cpu_machine(projected: Features) -> None:
    train = projected.select("train")
    cls = registry.get("robust_modality")
    a = cls(**QUICK, device="auto").fit(train.inputs, train.label)
    b = cls(**QUICK, device="cpu").fit(train.inputs, train.label)
    assert next(a.module_.parameters()).device.type == "cpu"  # modules rest on the CPU between calls
    assert a.get_params()["device"] == "auto"
    pa, pb = a.predict_proba(train.inputs), b.predict_proba(train.inputs)
    if torch.cuda.is_available():  # GPU kernels round differently
        np.testing.assert_allclose(pa, pb, atol=0.05)
    else:
        np.testing.assert_array_equal(pa, pb)


def test_train_with_device_cuda_needs_a_gpu(projected_dir: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "p.yaml"
    cfg.write_text(json.dumps({"params": {**QUICK, "device": "cuda"}}))
    proc = run_cli("train", "--model", "robust_modality", "--features", projected_dir, "--out",
                   tmp_path / "m", "--config", cfg, "--quiet")  # fmt: skip
    if torch.cuda.is_available():
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode == 2, proc.stderr
    assert "no CUDA device is visible" in proc.stderr and not (tmp_path / "m").exists()


def test_the_local_text_encoder_follows_the_same_device_choice() -> None:
    from campaignlab.features.local import LocalEncoder, gpu_visible, onnx_available

    enc = LocalEncoder(backend="torch")
    vecs = enc.encode(["a campaign for young parents", "b2b software"])
    assert vecs.shape == (2, 384) and np.isfinite(vecs).all()
    assert enc._load().model.device.type == torch_device("auto").type  # type: ignore[union-attr]
    # auto: torch on a GPU, else ONNX on the CPU (this machine: no GPU, onnxruntime installed)
    assert LocalEncoder().backend == ("torch" if gpu_visible() or not onnx_available() else "onnx")
