"""A tiny random `qwen3_5_moe` vision-language checkpoint, built offline.

Owns: `ensure_tiny_moe()` and everything that goes into the folder it
returns: `config.json` for `Qwen3_5MoeForConditionalGeneration` (hybrid
gated-delta-net / full-attention layers, a few routed experts plus the shared
expert, a one-block vision tower with the real patch, merge and temporal-patch
settings), float32 safetensors weights, a byte-level BPE tokenizer trained on a
small built-in corpus with the Qwen special tokens, the Qwen3.5 chat template,
the processor (image and video processors with small pixel budgets) and
`generation_config.json`.

The words it produces are random, but the output head is scaled so that the
next-token entropy swings widely from step to step: a SwiReasoning run on it
switches both ways within a few dozen steps. Tests and offline demos load it
through the same `from_pretrained` path as a real checkpoint.

Leaves to others: loading (`runtime.py`), prompts (`prompt.py`), decoding
(`decode.py`). Nothing here runs at import time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelUnavailable
from engine.presets import cache_root

TINY_MOE_NAME = "tiny-moe-v1"
MARKER = "tiny_moe.json"  # written last: a folder holding it is complete

# The Qwen3.5 chat template (Qwen/Qwen3.5 `chat_template.jinja`): vision items
# become `<|vision_start|><|image_pad|><|vision_end|>` (or `<|video_pad|>`),
# reasoning is kept only after the last user query, and the generation prompt
# opens `<think>\n` (or an empty `<think>\n\n</think>\n\n` when
# `enable_thinking=False`).
CHAT_TEMPLATE = r"""{%- set image_count = namespace(value=0) %}
{%- set video_count = namespace(value=0) %}
{%- macro render_content(content, do_vision_count, is_system_content=false) %}
    {%- if content is string %}
        {{- content }}
    {%- elif content is iterable and content is not mapping %}
        {%- for item in content %}
            {%- if 'image' in item or 'image_url' in item or item.type == 'image' %}
                {%- if is_system_content %}
                    {{- raise_exception('System message cannot contain images.') }}
                {%- endif %}
                {%- if do_vision_count %}
                    {%- set image_count.value = image_count.value + 1 %}
                {%- endif %}
                {%- if add_vision_id %}
                    {{- 'Picture ' ~ image_count.value ~ ': ' }}
                {%- endif %}
                {{- '<|vision_start|><|image_pad|><|vision_end|>' }}
            {%- elif 'video' in item or item.type == 'video' %}
                {%- if is_system_content %}
                    {{- raise_exception('System message cannot contain videos.') }}
                {%- endif %}
                {%- if do_vision_count %}
                    {%- set video_count.value = video_count.value + 1 %}
                {%- endif %}
                {%- if add_vision_id %}
                    {{- 'Video ' ~ video_count.value ~ ': ' }}
                {%- endif %}
                {{- '<|vision_start|><|video_pad|><|vision_end|>' }}
            {%- elif 'text' in item %}
                {{- item.text }}
            {%- else %}
                {{- raise_exception('Unexpected item type in content.') }}
            {%- endif %}
        {%- endfor %}
    {%- elif content is none or content is undefined %}
        {{- '' }}
    {%- else %}
        {{- raise_exception('Unexpected content type.') }}
    {%- endif %}
{%- endmacro %}
{%- if not messages %}
    {{- raise_exception('No messages provided.') }}
{%- endif %}
{%- if tools and tools is iterable and tools is not mapping %}
    {{- '<|im_start|>system\n' }}
    {{- "# Tools\n\nYou have access to the following functions:\n\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>" }}
    {{- '\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after\n- If there is no function call available, answer the question like normal with your current knowledge and do not tell the user about function calls\n</IMPORTANT>' }}
    {%- if messages[0].role == 'system' %}
        {%- set content = render_content(messages[0].content, false, true)|trim %}
        {%- if content %}
            {{- '\n\n' + content }}
        {%- endif %}
    {%- endif %}
    {{- '<|im_end|>\n' }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {%- set content = render_content(messages[0].content, false, true)|trim %}
        {{- '<|im_start|>system\n' + content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" %}
        {%- set content = render_content(message.content, false)|trim %}
        {%- if not(content.startswith('<tool_response>') and content.endswith('</tool_response>')) %}
            {%- set ns.multi_step_tool = false %}
            {%- set ns.last_query_index = index %}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if ns.multi_step_tool %}
    {{- raise_exception('No user query found in messages.') }}
{%- endif %}
{%- for message in messages %}
    {%- set content = render_content(message.content, true)|trim %}
    {%- if message.role == "system" %}
        {%- if not loop.first %}
            {{- raise_exception('System message must be at the beginning.') }}
        {%- endif %}
    {%- elif message.role == "user" %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- set reasoning_content = reasoning_content|trim %}
        {%- if loop.index0 > ns.last_query_index %}
            {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content + '\n</think>\n\n' + content }}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls and message.tool_calls is iterable and message.tool_calls is not mapping %}
            {%- for tool_call in message.tool_calls %}
                {%- if tool_call.function is defined %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {%- if loop.first %}
                    {%- if content|trim %}
                        {{- '\n\n<tool_call>\n<function=' + tool_call.name + '>\n' }}
                    {%- else %}
                        {{- '<tool_call>\n<function=' + tool_call.name + '>\n' }}
                    {%- endif %}
                {%- else %}
                    {{- '\n<tool_call>\n<function=' + tool_call.name + '>\n' }}
                {%- endif %}
                {%- if tool_call.arguments is defined %}
                    {%- for args_name, args_value in tool_call.arguments|items %}
                        {{- '<parameter=' + args_name + '>\n' }}
                        {%- set args_value = args_value | string if args_value is string else args_value | tojson | safe %}
                        {{- args_value }}
                        {{- '\n</parameter>\n' }}
                    {%- endfor %}
                {%- endif %}
                {{- '</function>\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.previtem and loop.previtem.role != "tool" %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if not loop.last and loop.nextitem.role != "tool" %}
            {{- '<|im_end|>\n' }}
        {%- elif loop.last %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- else %}
        {{- raise_exception('Unexpected message role.') }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- else %}
        {{- '<think>\n' }}
    {%- endif %}
{%- endif %}"""

# Qwen's added tokens, placed after the BPE vocabulary (`<|endoftext|>` and
# the named media tokens of `MEDIA_TOKENS` get their ids first, the rest follow
# in Qwen's order). The tool and think tags are not "special" (they survive
# `skip_special_tokens=True`), as in the real tokenizer.
ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
    ("<|audio_start|>", True),
    ("<|audio_end|>", True),
    ("<|audio_pad|>", True),
)
# Named media tokens, as in Qwen3.5's tokenizer_config.json.
MEDIA_TOKENS = {
    "image_token": "<|image_pad|>",
    "video_token": "<|video_pad|>",
    "vision_bos_token": "<|vision_start|>",
    "vision_eos_token": "<|vision_end|>",
    "audio_token": "<|audio_pad|>",
    "audio_bos_token": "<|audio_start|>",
    "audio_eos_token": "<|audio_end|>",
}

# The tokenizer's training text: English and Portuguese sentences, digits,
# maths and code. The code lines hold literal backslash-n escapes so that the
# two-character token the SwiReasoning reference looks up exists.
CORPUS: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog.",
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "What is in this picture? Describe the image and the video in a few words.",
    "A small red car is parked next to a green tree on a sunny afternoon.",
    "The answer is 42, because six times seven is forty-two.",
    "Let me think about this problem carefully before I answer.",
    "First, we add the numbers. Then we divide by the count to get the mean.",
    "The cat sat on the mat and watched the birds in the garden.",
    "Water boils at 100 degrees Celsius at sea level.",
    "She opened the window, looked at the sky and smiled.",
    "Hello! How can I help you today? I am a helpful assistant.",
    "The video shows a person walking along the beach at sunset.",
    "There are three apples and two oranges on the kitchen table.",
    "If a train travels sixty miles in one hour, how far does it go in three hours?",
    "The children played football in the park until it started raining.",
    "My favourite colours are blue, yellow and purple; which ones do you like?",
    "The museum opens at nine in the morning and closes at six in the evening.",
    "Scientists study the stars, the planets and the galaxies far away.",
    "Wait, that is not right. Let me check the calculation again.",
    "So the total cost is twelve dollars and fifty cents.",
    "The image contains a mountain, a river, some clouds and a wooden bridge.",
    "People were dancing, singing and laughing at the festival all night long.",
    "Therefore, the probability of rolling two sixes is one in thirty-six.",
    "O rato roeu a roupa do rei de Roma.",
    "Qual é a resposta? Vamos pensar passo a passo antes de responder.",
    "A imagem mostra um cachorro correndo na praia ao pôr do sol.",
    "Olá! Como posso ajudar você hoje? Sou um assistente prestativo.",
    "O vídeo mostra uma pessoa andando de bicicleta na cidade.",
    "Primeiro somamos os números, depois dividimos pelo total.",
    "A água ferve a cem graus Celsius ao nível do mar.",
    "Ela abriu a janela, olhou para o céu e sorriu.",
    "São Paulo, Rio de Janeiro, Belo Horizonte, Salvador e Brasília.",
    "Não sei a resposta, mas posso tentar descobrir com você.",
    "Ação, educação, informação, coração, canção, pão, mãe, irmã.",
    "As crianças brincaram no parque até começar a chover.",
    "Há três maçãs e duas laranjas em cima da mesa da cozinha.",
    "O museu abre às nove da manhã e fecha às seis da tarde.",
    "Espere, isso não está certo. Vou conferir a conta de novo.",
    "Portanto, a probabilidade de tirar dois seis é de uma em trinta e seis.",
    "Minhas cores favoritas são azul, amarelo e roxo; e as suas?",
    "A cidade maravilhosa tem praias, montanhas, florestas e muita música.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 100 256 1024 2025 3.14 2.718 -7 1e-6",
    "12 + 30 = 42; 7 * 6 = 42; 84 / 2 = 42; 50 - 8 = 42; 2^10 = 1024",
    "x^2 + y^2 = z^2, a < b, b > c, x <= y, y >= z, a != b, (a + b) * c",
    "\\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}, \\sqrt{2} \\approx 1.414, \\pi r^2",
    "\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}, \\int_0^1 x dx = \\frac{1}{2}, \\boxed{42}",
    "f(x) = 3x + 2, g(x) = x^2 - 1, h = f \\circ g, |x| = 5, 10 % 3 = 1",
    "\\alpha + \\beta = \\gamma, \\theta \\in [0, 2\\pi), \\lim_{x \\to 0} \\frac{\\sin x}{x} = 1",
    "def add(a, b):\n    return a + b\n",
    "for i in range(10):\n    print(i, i * i)\n",
    'print("line one\\nline two\\n")',
    'text = "a\\nb\\nc".split("\\n")',
    'sys.stdout.write("done\\n"); log.info("ok\\n")',
    "if x > 0 and y < 10:\n    result = [v for v in values if v % 2 == 0]\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "import numpy as np\nmatrix = np.zeros((3, 3))\nprint(matrix.shape)\n",
    "while not done:\n    item = queue.pop()\n    done = process(item)\n",
    "const total = items.reduce((acc, x) => acc + x, 0);",
    "function greet(name) { return `Hello, ${name}!`; }",
    "SELECT name, age FROM users WHERE age >= 18 ORDER BY name;",
    '{ "name": "rio", "version": 1, "tags": ["chat", "vision"] }',
)
CORPUS_REPEATS = 20  # repeat the corpus so every pair clears min_frequency
BPE_VOCAB_SIZE = 1500  # upper bound; the corpus runs out of merges near 1.3k


@dataclass(frozen=True)
class TinyMoeSpec:
    """Sizes of the tiny model (real Qwen3.5 values where they cost nothing)."""

    seed: int = 1234
    hidden_size: int = 64
    num_layers: int = 4  # linear, linear, linear, full (Qwen3.5's interval of 4)
    full_attention_interval: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 64  # rotary dim 16 with partial_rotary_factor 0.25
    mrope_section: tuple[int, int, int] = (3, 3, 2)  # sums to rotary dim / 2
    linear_key_heads: int = 2
    linear_value_heads: int = 4
    linear_head_dim: int = 16
    num_experts: int = 8
    experts_per_token: int = 2
    moe_intermediate: int = 32
    shared_intermediate: int = 32
    vision_depth: int = 1
    vision_hidden: int = 32
    vision_heads: int = 2
    vision_intermediate: int = 64
    head_scale: float = 4.5  # output-head std times sqrt(hidden): sets the entropy range


def default_path() -> Path:
    """`$RIO_CACHE/tiny-moe-v1`; RIO_CACHE defaults to ~/.cache/rio-chat."""
    return cache_root() / TINY_MOE_NAME


def ensure_tiny_moe(path: Path | None = None) -> Path:
    """Return a folder holding the complete tiny checkpoint; build it if missing.

    The build goes into a temporary folder beside `path` that is renamed into
    place at the end, so no reader sees a half-written model; when two
    processes build at once, the first rename wins and the other build is
    dropped.
    """
    path = Path(path) if path is not None else default_path()
    if (path / MARKER).is_file():
        return path
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ModelUnavailable(
            f"{path} exists but is not a complete tiny model (it has no {MARKER}); "
            "delete it or choose another folder, and it will be rebuilt."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    try:
        build_tiny_moe(tmp)
        os.chmod(tmp, 0o755)
        if path.is_dir():
            path.rmdir()  # empty; fails if another process has just filled it
        os.rename(tmp, path)
    except OSError:
        if not (path / MARKER).is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def build_tiny_moe(folder: Path, spec: TinyMoeSpec | None = None) -> None:
    """Write every file of the checkpoint into the existing folder `folder`."""
    spec = spec or TinyMoeSpec()
    tokenizer = make_tokenizer()
    processor = _make_processor(tokenizer)
    model = _make_model(spec, tokenizer)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    for f in folder.iterdir():
        os.chmod(f, 0o644)
    info = {"name": TINY_MOE_NAME, "seed": spec.seed, "vocab_size": len(tokenizer)}
    (folder / MARKER).write_text(json.dumps(info, indent=2) + "\n")


def make_tokenizer():
    """A byte-level BPE trained on `CORPUS`, wrapped as Qwen3.5's tokenizer class."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer
    from transformers import AddedToken
    from transformers.models.qwen3_5.tokenization_qwen3_5 import PRETOKENIZE_REGEX, Qwen3_5Tokenizer

    # The same normalizer and pre-tokenizer as Qwen3_5Tokenizer builds.
    raw = Tokenizer(BPE())
    raw.normalizer = normalizers.NFC()
    raw.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    raw.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=BPE_VOCAB_SIZE,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator(list(CORPUS) * CORPUS_REPEATS, trainer=trainer)
    bpe = json.loads(raw.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in bpe["merges"]]
    tok = Qwen3_5Tokenizer(vocab=bpe["vocab"], merges=merges, unk_token=None, **MEDIA_TOKENS)
    tok.add_tokens([AddedToken(t, special=s, normalized=False) for t, s in ADDED_TOKENS])
    tok.model_max_length = 262144
    return tok


def _make_processor(tokenizer):
    """Qwen3VLProcessor with Qwen3.5's patch settings and small pixel budgets."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    common = {
        "patch_size": 16,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    }
    token_px = 32 * 32  # one vision token: a 2x2 merge of 16-pixel patches
    image = Qwen2VLImageProcessor(
        size={"shortest_edge": 4 * token_px, "longest_edge": 16 * token_px}, **common
    )
    video = Qwen3VLVideoProcessor(
        size={"shortest_edge": 2 * 4 * token_px, "longest_edge": 2 * 32 * token_px},  # counts frames too
        fps=2,
        min_frames=4,
        max_frames=8,
        cap_pixels_per_frame=True,
        **common,
    )
    return Qwen3VLProcessor(
        image_processor=image, tokenizer=tokenizer, video_processor=video, chat_template=CHAT_TEMPLATE
    )


def _text_config(spec: TinyMoeSpec, vocab_size: int, eos_id: int) -> dict:
    layer_types = [
        "full_attention" if (i + 1) % spec.full_attention_interval == 0 else "linear_attention"
        for i in range(spec.num_layers)
    ]
    rope = {
        "rope_type": "default",
        "rope_theta": 10000000,
        "partial_rotary_factor": 0.25,
        "mrope_section": list(spec.mrope_section),
        "mrope_interleaved": True,
    }
    return {
        "vocab_size": vocab_size,
        "hidden_size": spec.hidden_size,
        "num_hidden_layers": spec.num_layers,
        "layer_types": layer_types,
        "num_attention_heads": spec.num_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "head_dim": spec.head_dim,
        "linear_num_key_heads": spec.linear_key_heads,
        "linear_num_value_heads": spec.linear_value_heads,
        "linear_key_head_dim": spec.linear_head_dim,
        "linear_value_head_dim": spec.linear_head_dim,
        "linear_conv_kernel_dim": 4,
        "num_experts": spec.num_experts,
        "num_experts_per_tok": spec.experts_per_token,
        "moe_intermediate_size": spec.moe_intermediate,
        "shared_expert_intermediate_size": spec.shared_intermediate,
        "max_position_embeddings": 32768,
        "rope_parameters": rope,
        "tie_word_embeddings": False,
        "eos_token_id": eos_id,
    }


def _vision_config(spec: TinyMoeSpec) -> dict:
    return {
        "depth": spec.vision_depth,
        "hidden_size": spec.vision_hidden,
        "num_heads": spec.vision_heads,
        "intermediate_size": spec.vision_intermediate,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": spec.hidden_size,
        "num_position_embeddings": 2304,
    }


def _make_model(spec: TinyMoeSpec, tokenizer):
    """Seeded random weights (float32), the output head redrawn, eos ids set."""
    import torch
    from transformers import GenerationConfig, Qwen3_5MoeConfig, Qwen3_5MoeForConditionalGeneration

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t, _ in ADDED_TOKENS}
    eos = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    config = Qwen3_5MoeConfig(
        text_config=_text_config(spec, len(tokenizer), eos[1]),
        vision_config=_vision_config(spec),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = Qwen3_5MoeForConditionalGeneration(config).to(torch.float32).eval()
        head = model.lm_head.weight  # [V, hidden]
        with torch.no_grad():
            # Large random rows: the softmax is peaky or flat depending on how
            # the final hidden state lines up with them, step by step.
            head.copy_(torch.randn(head.shape) * (spec.head_scale / spec.hidden_size**0.5))
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=eos[1], do_sample=False)
    return model
