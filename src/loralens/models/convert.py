"""Convert the packaged GGUF decoder once into a cached, integrity-checked HF folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import torch

from loralens.errors import ModelError

MANIFEST = "loralens-manifest.json"


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _file_record(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256_file(path)}


def write_manifest(folder: Path, source: dict) -> None:
    """Record size, mtime and sha256 of every file in `folder` plus where it came from."""
    files = {p.name: _file_record(p) for p in sorted(folder.iterdir()) if p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps({"source": source, "files": files}, indent=2))


def verify_folder(folder: Path) -> str | None:
    """None if every file matches the manifest, else a description of the first mismatch."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return "no manifest"
    files = json.loads(manifest_path.read_text())["files"]
    for name, rec in files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        stat = path.stat()
        if stat.st_size != rec["size"]:
            return f"{name} has size {stat.st_size}, expected {rec['size']}"
        # Same size and mtime as when hashed: unchanged; otherwise re-hash to be sure.
        if stat.st_mtime_ns != rec["mtime_ns"] and sha256_file(path) != rec["sha256"]:
            return f"{name} has a different sha256 than recorded"
    return None


def convert_gguf(src_dir: Path, gguf_file: str, out_dir: Path) -> Path:
    """Dequantize a GGUF Llama to fp32 and save a clean HF folder (atomically) at out_dir."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if not (src_dir / gguf_file).is_file():
        raise ModelError(f"packaged model file not found: {src_dir / gguf_file}")
    loaded = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=gguf_file, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=gguf_file)
    # save_pretrained refuses a GGUF-loaded model: rebuild a config without quantization_config.
    cfg = loaded.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "transformers_version"):
        cfg.pop(key, None)
    clean = LlamaForCausalLM(LlamaConfig.from_dict(cfg))
    clean.load_state_dict(loaded.state_dict())
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    tmp.chmod(0o755)
    try:
        clean.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, {"gguf": str(src_dir / gguf_file), "dequantized_to": "float32"})
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except OSError:
        if verify_folder(out_dir) is None:  # another process finished the same conversion first
            return out_dir
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
