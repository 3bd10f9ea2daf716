"""Export a Hugging Face folder to GGUF with llama.cpp's own converter.

Owns: finding llama.cpp's `convert_hf_to_gguf.py` (it ships in the
llama-cpp-python source distribution, not in its wheel): `$RIO_LLAMA_CONVERTER`,
else a copy cached under `$RIO_TOOLS_CACHE` (default ~/.cache/rio-chat-tools),
else fetched once with `pip download` of the installed llama-cpp-python's
sdist, of which only `convert_hf_to_gguf.py`, `conversion/` and `gguf-py/`
are kept; and `export_gguf`, which runs it in a subprocess. Models this app
builds for itself (the tiny models, a project fine-tune) use tokenizers
whose BPE pre-tokenizer the converter cannot recognise by its hash, so
`pre_tokenizer` can name the one to write ("qwen35" for Qwen3.5-style ones).
Leaves loading GGUF files to `engine/runtimes/llamacpp.py`.

    python -m engine.models.gguf_export FOLDER OUT.gguf [--outtype q8_0|f16|f32] [--pre-tokenizer qwen35]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from engine.errors import ModelUnavailable, RioError

KEEP = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")
# Run the converter with an optional forced pre-tokenizer (its hash table knows only
# published tokenizers). Arguments after the first are the converter's own.
_RUNNER = """
import os, sys
here = sys.argv.pop(1)
sys.path[:0] = [here, os.path.join(here, "gguf-py")]
from conversion import base
try:  # the converter tries sentencepiece first even for BPE tokenizers; without it, go to BPE
    import sentencepiece  # noqa: F401
except ImportError:
    def _no_sentencepiece(self, *args, **kwargs):
        raise FileNotFoundError("sentencepiece is not installed")
    base.TextModel._create_vocab_sentencepiece = _no_sentencepiece
forced = os.environ.get("RIO_GGUF_PRE")
if forced:
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: forced
sys.argv[0] = os.path.join(here, "convert_hf_to_gguf.py")
import convert_hf_to_gguf
convert_hf_to_gguf.main()
"""


def tools_cache() -> Path:
    return Path(os.environ.get("RIO_TOOLS_CACHE") or Path.home() / ".cache" / "rio-chat-tools").expanduser()


def _llama_version() -> str:
    try:
        from importlib.metadata import version

        return version("llama-cpp-python")
    except Exception as err:  # not installed: the converter has no version to match
        raise ModelUnavailable(
            "llama-cpp-python is not installed: pip install 'llama-cpp-python>=0.3.36'"
        ) from err


def converter_dir() -> Path:
    """A folder holding `convert_hf_to_gguf.py`, fetched once if needed (`ModelUnavailable` if it cannot be)."""
    if env := os.environ.get("RIO_LLAMA_CONVERTER"):
        folder = Path(env)
        if not (folder / "convert_hf_to_gguf.py").is_file():
            raise ModelUnavailable(f"RIO_LLAMA_CONVERTER={env} holds no convert_hf_to_gguf.py.")
        return folder
    version = _llama_version()
    folder = tools_cache() / f"llama.cpp-convert-{version}"
    if not (folder / "convert_hf_to_gguf.py").is_file():
        _fetch(version, folder)
    return folder


def _fetch(version: str, folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", tmp,
               f"llama-cpp-python=={version}"]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        archives = list(Path(tmp).glob("*.tar.gz"))
        if proc.returncode or not archives:
            raise ModelUnavailable(
                f"Could not fetch llama.cpp's converter (the llama-cpp-python {version} source): "
                f"{(proc.stderr or proc.stdout).strip()[-300:]}. Set RIO_LLAMA_CONVERTER to a llama.cpp checkout."
            )
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=_parent(folder)))
        with tarfile.open(archives[0]) as tar:
            for member in tar.getmembers():
                rel = (
                    member.name.split("/vendor/llama.cpp/", 1)[-1]
                    if "/vendor/llama.cpp/" in member.name
                    else ""
                )
                if rel and rel.startswith(KEEP) and (member.isfile() or member.isdir()):
                    member.name = rel
                    tar.extract(member, staging, filter="data")
        try:
            staging.rename(folder)
        except OSError:  # another process got there first
            shutil.rmtree(staging, ignore_errors=True)


def _parent(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder.parent


def export_gguf(
    hf_folder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    outtype: str = "q8_0",
    pre_tokenizer: str | None = None,
    mmproj: bool = False,
) -> Path:
    """Convert `hf_folder` to `out` (written atomically); raise `RioError` with the converter's last words."""
    src, out = Path(hf_folder), Path(out)
    _check_config(src)
    conv = converter_dir()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    args = [sys.executable, "-c", _RUNNER, str(conv), str(src), "--outfile", str(tmp), "--outtype", outtype]
    args += ["--mmproj"] if mmproj else ["--no-mtp"] if _lacks_mtp_weights(src) else []
    env = {**os.environ, "RIO_GGUF_PRE": pre_tokenizer or "", "NO_LOCAL_GGUF": ""}
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise RioError(f"llama.cpp's converter failed on {src}: {tail}")
    os.replace(tmp, out)
    return out


def _check_config(folder: Path) -> None:
    config = folder / "config.json"
    if not config.is_file():
        raise ModelUnavailable(f"'{folder}' is not a Hugging Face model folder (no config.json).")
    if not json.loads(config.read_text()).get("architectures"):
        raise ModelUnavailable(
            f"{config} names no `architectures`; the converter needs it to pick a model class."
        )


def _lacks_mtp_weights(folder: Path) -> bool:
    """A Qwen3.5-style folder without multi-token-prediction weights needs --no-mtp: the
    converter otherwise counts the MTP layers the config declares, and llama.cpp then refuses
    the file for the block whose tensors are missing. (transformers has no MTP module, so a
    folder written by `save_pretrained` never holds them; a hub checkpoint usually does.)"""
    config = json.loads((folder / "config.json").read_text())
    text = config.get("text_config", config)
    if "qwen3_5" not in str(text.get("model_type", config.get("model_type", ""))):
        return False
    return not any(name.startswith(("mtp.", "model.mtp.")) for name in _tensor_names(folder))


def _tensor_names(folder: Path) -> list[str]:
    """The tensor names of a folder's safetensors, from the index or the files' headers."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        return list(json.loads(index.read_text()).get("weight_map", {}))
    from safetensors import safe_open

    names: list[str] = []
    for f in sorted(folder.glob("*.safetensors")):
        with safe_open(str(f), framework="numpy") as st:
            names += list(st.keys())
    return names


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m engine.models.gguf_export", description=__doc__.splitlines()[0]
    )
    ap.add_argument("folder")
    ap.add_argument("out")
    ap.add_argument("--outtype", default="q8_0", choices=("f32", "f16", "bf16", "q8_0"))
    ap.add_argument("--pre-tokenizer", default=None, help="force the BPE pre-tokenizer name, e.g. qwen35")
    ap.add_argument("--mmproj", action="store_true", help="export the vision tower (mmproj) instead")
    args = ap.parse_args(argv)
    try:
        path = export_gguf(args.folder, args.out, outtype=args.outtype, pre_tokenizer=args.pre_tokenizer,
                           mmproj=args.mmproj)  # fmt: skip
    except RioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
