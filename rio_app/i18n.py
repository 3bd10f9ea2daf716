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

import gradio as gr

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
    "alpha0": "alpha0 (latent mix weight at the start)",
    "beta0": "beta0 (explicit mix weight at the start)",
    "window": "Switch window (steps before explicit → latent)",
    "max_switch": "Max switch count (0 = off)",
    "thinking": "Thinking block",
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
    # race
    "race_intro": "SwiReasoning against CoT on the same prompt, media and seed, one after the other on the loaded model.",
    "race_box": "A prompt for both runs (images and video too)…",
    "race_against": "Compare SwiReasoning against",
    "race_run": "Race",
    "race_stop": "Stop",
    "race_a": "SwiReasoning",
    "race_b": "CoT",
    # server-built text
    "thinking_title": "Thinking · {latent} latent / {explicit} explicit steps · {switches} switches",
    "thinking_title_stopped": "Thinking (stopped) · {latent} latent / {explicit} explicit steps · {switches} switches",
    "stopped_note": "Stopped: this is what the model wrote before you stopped it.",
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
    "mod_text": "text",
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
    "race_done": "{tokens} tokens · {seconds} s · {tps} tok/s · {switches} switches",
    "race_winner": "Fewer tokens: {name} ({delta} fewer).",
    "race_tie": "Both runs used the same number of tokens.",
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
    "stop_error": "an error",
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
    "alpha0": "alpha0 (peso da mistura latente no início)",
    "beta0": "beta0 (peso da mistura explícita no início)",
    "window": "Janela de troca (passos antes de explícito → latente)",
    "max_switch": "Máximo de trocas (0 = desligado)",
    "thinking": "Bloco de pensamento",
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
    "race_intro": "SwiReasoning contra CoT no mesmo prompt, mídia e semente, um após o outro no modelo carregado.",
    "race_box": "Um prompt para as duas execuções (imagens e vídeo também)…",
    "race_against": "Comparar SwiReasoning com",
    "race_run": "Correr",
    "race_stop": "Parar",
    "race_a": "SwiReasoning",
    "race_b": "CoT",
    "thinking_title": "Pensamento · {latent} passos latentes / {explicit} explícitos · {switches} trocas",
    "thinking_title_stopped": "Pensamento (interrompido) · {latent} passos latentes / {explicit} explícitos · {switches} trocas",
    "stopped_note": "Interrompido: isto é o que o modelo escreveu antes de você pará-lo.",
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
    "mod_text": "texto",
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
    "race_done": "{tokens} tokens · {seconds} s · {tps} tok/s · {switches} trocas",
    "race_winner": "Menos tokens: {name} ({delta} a menos).",
    "race_tie": "As duas execuções usaram o mesmo número de tokens.",
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
    "stop_error": "um erro",
}

STRINGS: dict[str, dict[str, str]] = {"en": EN, "pt-BR": PT}
I18N = gr.I18n(**STRINGS)


def t(key: str, lang: str = "en", **fields: object) -> str:
    """The string `key` in `lang` (English when missing), with `fields` filled in."""
    table = STRINGS.get(lang, EN)
    text = table.get(key) or EN[key]
    return text.format(**fields) if fields else text


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
