"""Model registry: names, paths, conversion integrity, classification heads."""

from pathlib import Path

import pytest
import torch

from loralens.errors import ModelError
from loralens.models.convert import verify_folder, write_manifest
from loralens.models.load import load_classifier
from loralens.models.registry import REGISTRY, resolve_model


def test_registry_lists_the_packaged_models() -> None:
    assert {"smollm2-135m", "minilm-l6"} <= set(REGISTRY)
    assert REGISTRY["smollm2-135m"].kind == "decoder"
    assert "4-bit" in REGISTRY["smollm2-135m"].caveat


def test_unknown_name_suggests_closest() -> None:
    with pytest.raises(ModelError, match="did you mean 'smollm2-135m'"):
        resolve_model("smollm2-135")


def test_folder_without_config_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no config\.json"):
        resolve_model(str(tmp_path))


def test_hub_ids_pass_through() -> None:
    assert resolve_model("TinyLlama/TinyLlama-1.1B-Chat-v1.0")[0] == (
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    )


def test_manifest_detects_corruption(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"x" * 100)
    write_manifest(tmp_path, {"test": True})
    assert verify_folder(tmp_path) is None
    (tmp_path / "a.bin").write_bytes(b"y" * 100)  # same size, new content and mtime
    assert "sha256" in verify_folder(tmp_path)
    (tmp_path / "a.bin").write_bytes(b"y" * 99)
    assert "size" in verify_folder(tmp_path)
    (tmp_path / "a.bin").unlink()
    assert "missing" in verify_folder(tmp_path)


def test_tiny_llama_classifier_pools_last_real_token(tiny_llama_dir: Path) -> None:
    model, tok = load_classifier(str(tiny_llama_dir), num_labels=3)
    model.eval()
    assert model.config.pad_token_id == tok.pad_token_id
    enc = tok(
        ["a short one", "a much longer input sentence here"], padding=True, return_tensors="pt"
    )
    alone = tok(["a short one"], return_tensors="pt")
    with torch.no_grad():
        batched = model(**enc).logits[0]
        single = model(**alone).logits[0]
    assert batched.shape == (3,)
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)


def test_minilm_encoder_classifier() -> None:
    model, tok = load_classifier("minilm-l6", num_labels=2)
    assert model.config.model_type == "bert" and model.config.num_hidden_layers == 6
    out = model(**tok(["hello"], return_tensors="pt")).logits
    assert out.shape == (1, 2)


@pytest.mark.slow
def test_smollm2_classifier_has_30_layers_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, _ = load_classifier("smollm2-135m", num_labels=2)
    assert model.config.num_hidden_layers == 30
    assert len(model.model.layers) == 30
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(134.5e6, rel=0.01)
