"""A decoder's classification head started from its LM head's rows of the label words.

LlamaForSequenceClassification's `score` reads the same final-norm hidden state as `lm_head`,
at the last real token. With `score`'s row c set to `lm_head`'s row of label c's word, the
class logits are the LM's next-token logits of the label words: the classifier's step-0 argmax
is the zero-shot decision of the prompt it reads (LM-BFF's prompt-based fine-tuning, with a score
head). A label word of several tokens is represented by its first token; the zero-shot baseline
scores the whole word, so the two agree exactly when every word is one token
(`verbalizer` records the token counts). First tokens must differ between labels.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from loralens.errors import ConfigError, ModelError

HEAD_NAMES = ("score", "classifier")  # the sequence-classification head of each architecture


def verbalizer(tok: PreTrainedTokenizerBase, words: list[str]) -> list[dict]:
    """Per label word: the word, its first token id and its number of tokens."""
    out = []
    for word in words:
        ids = tok(word, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ConfigError(f"prompt choice {word!r} is no token at all; give a word")
        out.append({"word": word, "token_id": int(ids[0]), "tokens": len(ids)})
    firsts = [v["token_id"] for v in out]
    if len(set(firsts)) < len(firsts):
        raise ConfigError(
            f"prompt choices {words} start with the same token, so a head started from their "
            "first tokens cannot tell them apart; choose words that differ in their first token "
            "(or model.head: fresh)"
        )
    return out


def head_module(model: PreTrainedModel) -> torch.nn.Linear:
    """The classification head's linear layer."""
    for name in HEAD_NAMES:
        module = getattr(model, name, None)
        if isinstance(module, torch.nn.Linear):
            return module
    raise ModelError(
        f"{type(model).__name__} has no linear head named {' or '.join(HEAD_NAMES)}; "
        "model.head: prompt needs a decoder's score head (use model.head: fresh)"
    )


def lm_head_rows(model: PreTrainedModel, path: str | Path, ids: list[int]) -> torch.Tensor:
    """The LM head's rows for token `ids`: (C, d). Tied embeddings are read from the classifier
    itself; an untied LM head from the checkpoint's causal LM (loaded once, then freed)."""
    if model.config.tie_word_embeddings:
        return model.get_input_embeddings().weight[ids].detach().clone()
    lm = AutoModelForCausalLM.from_pretrained(
        path, dtype=torch.float32, local_files_only=isinstance(path, Path)
    )
    if getattr(lm.get_output_embeddings(), "bias", None) is not None:
        raise ModelError("model.head: prompt copies an LM head without bias; this one has one")
    return lm.get_output_embeddings().weight[ids].detach().clone()


@torch.no_grad()
def init_prompt_head(
    model: PreTrainedModel, path: str | Path, tok: PreTrainedTokenizerBase, words: list[str]
) -> list[dict]:
    """Set the head's rows to the LM head's rows of the label words; return the verbalizer."""
    verbal = verbalizer(tok, words)
    head = head_module(model)
    rows = lm_head_rows(model, path, [v["token_id"] for v in verbal])  # (C, d)
    if head.weight.shape != rows.shape:
        raise ModelError(f"head {tuple(head.weight.shape)} cannot take rows {tuple(rows.shape)}")
    head.weight.copy_(rows.to(head.weight.dtype))
    if head.bias is not None:
        head.bias.zero_()
    return verbal
