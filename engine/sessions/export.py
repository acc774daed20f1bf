"""`seal export`: a session version as files other tools use.

peft    the adapter folder as peft saved it (adapter_config.json + safetensors)
gguf    the same adapter as a GGUF LoRA file for llama.cpp (`--lora`)
merged  a Hugging Face model folder with the adapter merged into the weights
edits   the accepted self-edits as a chat-format JSONL training set
        ({"messages": [system, user prompt, assistant self-edit]} per line)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.atomic import discard_own, partial_of, publish, write_text
from engine.failures import writing
from engine.selfedits.selfedit import build_messages, resolve_strategy


class ExportError(Exception):
    """An export cannot be written; the message names the output and the reason."""


def check_fresh_dir(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ExportError(f"{path}: already exists and is not an empty folder")


def check_fresh_file(path: Path) -> None:
    if path.exists():
        raise ExportError(f"{path}: already exists")
    if not path.parent.is_dir():
        raise ExportError(f"{path}: folder {path.parent} does not exist")


def adapter_of(session, version: int) -> Path:
    if version == 0:
        raise ExportError("version 0 is the base model: it has no adapter to export")
    adapter = session.adapter_for(version)
    if adapter is None:
        raise ExportError(f"session {session.name!r} has no version {version}")
    return adapter


def export_peft(session, version: int, out: Path) -> Path:
    check_fresh_dir(out)
    tmp = partial_of(out)
    shutil.copytree(adapter_of(session, version), tmp)
    return publish(tmp, out, "export-written")


def export_gguf(session, version: int, out: Path, base_gguf: Path) -> Path:
    from engine.runtime.gguf_adapter import peft_to_gguf

    check_fresh_file(out)
    return peft_to_gguf(adapter_of(session, version), out, base_gguf)


def export_merged(session, version: int, out: Path, model_config, base_gguf: Path) -> Path:
    """Base weights + adapter merged, saved as safetensors with the tokenizer."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.runtime.hf_model import model_folder

    check_fresh_dir(out)
    adapter = adapter_of(session, version)
    folder = model_folder(model_config, base_gguf)
    base = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, local_files_only=True, use_safetensors=True
    )
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    tmp = partial_of(out)
    try:
        with writing(out):  # a full disk: the OSError safetensors carries, naming the output
            merged.save_pretrained(tmp, safe_serialization=True)
            AutoTokenizer.from_pretrained(folder, local_files_only=True).save_pretrained(tmp)
    except BaseException:
        discard_own(out)
        raise
    return publish(tmp, out, "export-written")


def export_edits(session, version: int, out: Path) -> int:
    """The self-edits each update up to `version` trained on, as it recorded them (texts as
    trained, whatever changed since), one chat per line with who wrote it (SelfEdit.writer).
    Updates from before the record held texts give their recorded edit ids, or the passage's
    accepted edits, as they are now."""
    check_fresh_file(out)
    path = session.path_to(version)
    passages = {p.id: p for p in session.passages()}
    lines = []
    for update in session.updates():
        if update.version not in path:
            continue
        passage = passages[update.passage_id]
        writers = {e.id: e.writer for e in session.self_edits(update.passage_id)}
        for edit_id, text, strategy_name in _trained(session, update):
            try:
                strategy = resolve_strategy(strategy_name)
            except ValueError:  # a template file: the session's own copy
                strategy = session.strategy
            messages = build_messages(strategy, passage.title, passage.text)
            messages.append({"role": "assistant", "content": text})
            record = {"messages": messages, "passage_id": passage.id, "edit_id": edit_id, "version": update.version}
            lines.append(json.dumps({**record, "writer": writers.get(edit_id)}))
    write_text(out, "".join(line + "\n" for line in lines), "export-written")
    return len(lines)


def _trained(session, update) -> list[tuple[int, str, str]]:
    """(edit id, text, strategy) of what an update trained on."""
    edits = {e.id: e for e in session.self_edits(update.passage_id)}
    recorded = update.params.get("edits")
    if recorded is not None:
        return [
            (int(i), text, edits[int(i)].strategy if int(i) in edits else session.config.strategy)
            for i, text in recorded.items()
        ]
    ids = update.params.get("edit_ids")
    if ids is None:
        ids = [e.id for e in edits.values() if e.status == "accepted"]
    return [(i, edits[i].text, edits[i].strategy) for i in ids if i in edits]
