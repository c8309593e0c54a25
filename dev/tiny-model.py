#!/usr/bin/env python3
"""Write a tiny, random-weight LLaMA model as GGUF, for end-to-end tests against llama-server.

The weights are noise (generated from a fixed seed, so the file is byte-for-byte deterministic):
the model produces gibberish, but it exercises the real server: tokenizer, chat template,
sampling, streaming, usage accounting, slots. Requests should send "ignore_eos": true and
"max_tokens" to get an exact number of completion tokens.

The tokenizer (LLaMA SentencePiece, 32000 tokens) is copied from the llama.cpp source tree's
models/ggml-vocab-llama-spm.gguf; the chat template is ChatML.

Usage (gguf-py from the llama.cpp source tree on PYTHONPATH; needs numpy and PyYAML):
    PYTHONPATH=<llama.cpp>/gguf-py python3 dev/tiny-model.py \
        --vocab <llama.cpp>/models/ggml-vocab-llama-spm.gguf --out tiny-chatml.gguf
dev/llama-server.sh build does this for you.
"""
import argparse
import os
import sys

import numpy as np
import gguf
from gguf import GGUFReader, GGUFValueType, GGUFWriter

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def copy_tokenizer(reader: GGUFReader, writer: GGUFWriter) -> int:
    """Copies every tokenizer.* KV pair from the vocab file; returns the vocab size."""
    n_vocab = 0
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            sub = field.types[1]
            values = field.contents()
            writer.add_key_value(name, values, GGUFValueType.ARRAY, sub_type=sub)
            if name == "tokenizer.ggml.tokens":
                n_vocab = len(values)
        else:
            writer.add_key_value(name, field.contents(), vtype)
    if n_vocab == 0:
        raise SystemExit("no tokenizer.ggml.tokens in the vocab file")
    return n_vocab


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", required=True, help="path to models/ggml-vocab-llama-spm.gguf")
    ap.add_argument("--out", required=True, help="output .gguf path")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--n-embd", type=int, default=64)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-ff", type=int, default=128)
    ap.add_argument("--n-ctx", type=int, default=4096)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    n_embd, n_head, n_layer, n_ff = args.n_embd, args.n_head, args.n_layer, args.n_ff
    head_dim = n_embd // n_head

    reader = GGUFReader(args.vocab)
    tmp = args.out + ".tmp"
    writer = GGUFWriter(tmp, "llama")
    writer.add_name("llmproxy-tiny-chatml")
    writer.add_context_length(args.n_ctx)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    n_vocab = copy_tokenizer(reader, writer)
    writer.add_vocab_size(n_vocab)
    writer.add_chat_template(CHATML_TEMPLATE)

    def w(*shape: int) -> np.ndarray:
        # numpy shape is the reverse of ggml's ne: (rows=out, cols=in)
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones((n,), dtype=np.float32)

    writer.add_tensor("token_embd.weight", w(n_vocab, n_embd))
    for i in range(n_layer):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", ones(n_embd))
        writer.add_tensor(p + "attn_q.weight", w(n_head * head_dim, n_embd))
        writer.add_tensor(p + "attn_k.weight", w(n_head * head_dim, n_embd))
        writer.add_tensor(p + "attn_v.weight", w(n_head * head_dim, n_embd))
        writer.add_tensor(p + "attn_output.weight", w(n_embd, n_head * head_dim))
        writer.add_tensor(p + "ffn_norm.weight", ones(n_embd))
        writer.add_tensor(p + "ffn_gate.weight", w(n_ff, n_embd))
        writer.add_tensor(p + "ffn_up.weight", w(n_ff, n_embd))
        writer.add_tensor(p + "ffn_down.weight", w(n_embd, n_ff))
    writer.add_tensor("output_norm.weight", ones(n_embd))
    writer.add_tensor("output.weight", w(n_vocab, n_embd))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
