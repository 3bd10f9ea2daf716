"""Everyday chat prompts (en and pt-BR) and short, answer-free thoughts for thinking mode.

Owns: about 160 generic prompts written for this project (facts, definitions, advice, short
writing, explanations, greetings, small conversions in words), each with a category and a
topic phrase; `short_thought`, a one- or two-line thought that names the topic but never
the answer (and never a digit); and a seeded train/held-out split.
Leaves to others: the replies themselves (written or generated elsewhere), chat templates,
mixing these with the arithmetic data (train/arith_data.py).
"""

from __future__ import annotations

import random

HELDOUT_SHARE = 0.15

# (lang, category, topic, prompt); the topic paraphrases what is asked, never the answer.
ENTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("en", "fact", "the capital of France", "What is the capital of France?"),
    ("en", "fact", "the capital of Japan", "What is the capital of Japan?"),
    ("en", "fact", "the capital of Canada", "What is the capital of Canada?"),
    ("en", "fact", "the capital of Italy", "What is the capital of Italy?"),
    ("en", "fact", "the capital of Australia", "What is the capital of Australia?"),
    ("en", "fact", "the planet closest to the Sun", "Which planet is closest to the Sun?"),
    (
        "en",
        "fact",
        "the largest planet in the solar system",
        "What is the largest planet in our solar system?",
    ),
    ("en", "fact", "the gas plants take in from the air", "What gas do plants take in from the air?"),
    (
        "en",
        "fact",
        "the boiling point of water",
        "At what temperature does water boil at sea level, in Celsius?",
    ),
    ("en", "fact", "the number of continents", "How many continents are there?"),
    ("en", "fact", "the chemical symbol for gold", "What is the chemical symbol for gold?"),
    ("en", "fact", "who wrote Romeo and Juliet", "Who wrote Romeo and Juliet?"),
    ("en", "fact", "the longest river in South America", "What is the longest river in South America?"),
    ("en", "fact", "the hardest natural material", "What is the hardest natural material?"),
    ("en", "fact", "the largest ocean", "Which ocean is the largest?"),
    ("en", "fact", "what bees make", "What do bees make?"),
    ("en", "fact", "how many legs a spider has", "How many legs does a spider have?"),
    ("en", "fact", "the freezing point of water", "What is the freezing point of water in Celsius?"),
    ("en", "fact", "the organ that pumps blood", "Which organ pumps blood through the body?"),
    ("en", "fact", "the star closest to Earth", "What is the closest star to Earth?"),
    ("en", "fact", "the language spoken in Brazil", "What language is spoken in Brazil?"),
    ("en", "fact", "mixing blue and yellow paint", "What color do you get by mixing blue and yellow?"),
    ("en", "definition", "photosynthesis", "What is photosynthesis?"),
    ("en", "definition", 'the word "democracy"', 'What does "democracy" mean?'),
    ("en", "definition", "prime numbers", "What is a prime number?"),
    ("en", "definition", "gravity", "Define gravity in one sentence."),
    ("en", "definition", "atoms", "What is an atom?"),
    ("en", "definition", "verbs", "What is a verb?"),
    ("en", "definition", 'the word "empathy"', 'What does "empathy" mean?'),
    ("en", "definition", "volcanoes", "What is a volcano?"),
    ("en", "definition", "the internet", "What is the internet?"),
    ("en", "definition", "ecosystems", "What is an ecosystem?"),
    ("en", "definition", "inflation in economics", "What is inflation in economics?"),
    ("en", "definition", "metaphors", "What is a metaphor?"),
    ("en", "advice", "sleeping better", "How can I sleep better at night?"),
    ("en", "advice", "studying more effectively", "Give me three tips to study more effectively."),
    ("en", "advice", "staying calm before an exam", "How do I stay calm before an exam?"),
    ("en", "advice", "starting to exercise", "What is a good way to start exercising?"),
    ("en", "advice", "saving a little money", "How can I save a little money each month?"),
    ("en", "advice", "making a good first impression", "How do I make a good first impression?"),
    ("en", "advice", "drinking more water", "How can I drink more water during the day?"),
    ("en", "advice", "learning a new language", "Any tips for learning a new language?"),
    ("en", "advice", "keeping a desk organized", "How do I keep my desk organized?"),
    ("en", "advice", "being productive in the morning", "How can I be more productive in the morning?"),
    ("en", "advice", "packing for a weekend trip", "What should I pack for a weekend trip?"),
    ("en", "advice", "saying no politely", "How do I politely say no to a request?"),
    ("en", "writing", "a haiku about the sea", "Write a haiku about the sea."),
    ("en", "writing", "a two-line poem about coffee", "Write a two-line poem about coffee."),
    ("en", "writing", "a short birthday message", "Write a short birthday message for a friend."),
    ("en", "writing", "a one-sentence picture of autumn", "Write one sentence describing autumn."),
    ("en", "writing", "a haiku about the moon", "Write a haiku about the moon."),
    ("en", "writing", "a thank-you note for a teacher", "Write a short thank-you note to a teacher."),
    ("en", "writing", "a name for a bakery", "Give me a catchy name for a bakery."),
    ("en", "writing", "a two-line poem about rain", "Write a two-line poem about rain."),
    ("en", "writing", "a slogan for recycling", "Write a short slogan for recycling."),
    ("en", "writing", "a one-sentence sunset", "Describe a sunset in one sentence."),
    ("en", "explain", "why the sky is blue", "Why is the sky blue?"),
    ("en", "explain", "why there are seasons", "Why do we have seasons?"),
    ("en", "explain", "how airplanes stay in the air", "How do airplanes stay in the air?"),
    ("en", "explain", "why cats purr", "Why do cats purr?"),
    ("en", "explain", "how a rainbow forms", "How does a rainbow form?"),
    ("en", "explain", "why ice floats on water", "Why does ice float on water?"),
    ("en", "explain", "how vaccines work", "How do vaccines work?"),
    ("en", "explain", "why leaves change color in autumn", "Why do leaves change color in autumn?"),
    ("en", "explain", "what causes thunder", "What causes thunder?"),
    ("en", "explain", "how magnets work", "How do magnets work?"),
    ("en", "explain", "why we need sleep", "Why do we need sleep?"),
    ("en", "explain", "how a compass works", "How does a compass work?"),
    ("en", "greeting", "a hello", "Hello!"),
    ("en", "greeting", "a hello and a how-are-you", "Hi, how are you?"),
    ("en", "greeting", "a good-morning", "Good morning!"),
    ("en", "greeting", "a thank-you", "Thanks for your help!"),
    ("en", "greeting", "a question about what I can do", "Hey there, what can you do?"),
    ("en", "greeting", "a good-night", "Good night!"),
    ("en", "convert", "the minutes in an hour", "How many minutes are in an hour?"),
    ("en", "convert", "the centimeters in a meter", "How many centimeters are in a meter?"),
    ("en", "convert", "the days in a week", "How many days are in a week?"),
    ("en", "convert", "the grams in a kilogram", "How many grams are in a kilogram?"),
    ("en", "convert", "the months in a year", "How many months are in a year?"),
    ("en", "convert", "the seconds in a minute", "How many seconds are in a minute?"),
    ("pt-BR", "fact", "a capital do Brasil", "Qual é a capital do Brasil?"),
    ("pt-BR", "fact", "a capital de Portugal", "Qual é a capital de Portugal?"),
    ("pt-BR", "fact", "a capital da Argentina", "Qual é a capital da Argentina?"),
    ("pt-BR", "fact", "a capital do Chile", "Qual é a capital do Chile?"),
    ("pt-BR", "fact", "a capital da Espanha", "Qual é a capital da Espanha?"),
    ("pt-BR", "fact", "o maior planeta do sistema solar", "Qual é o maior planeta do sistema solar?"),
    ("pt-BR", "fact", "o planeta vermelho", "Qual planeta é conhecido como planeta vermelho?"),
    ("pt-BR", "fact", "o maior oceano do mundo", "Qual é o maior oceano do mundo?"),
    ("pt-BR", "fact", "o maior bioma do Brasil", "Qual é o maior bioma do Brasil?"),
    ("pt-BR", "fact", "o número de estados do Brasil", "Quantos estados tem o Brasil?"),
    ("pt-BR", "fact", "o símbolo químico do ferro", "Qual é o símbolo químico do ferro?"),
    ("pt-BR", "fact", "quem pintou a Mona Lisa", "Quem pintou a Mona Lisa?"),
    ("pt-BR", "fact", "o continente do Egito", "Em que continente fica o Egito?"),
    ("pt-BR", "fact", "o animal terrestre mais rápido", "Qual é o animal terrestre mais rápido?"),
    ("pt-BR", "fact", "o gás que respiramos", "Qual gás nós respiramos para viver?"),
    ("pt-BR", "fact", "a língua oficial de Angola", "Qual é a língua oficial de Angola?"),
    ("pt-BR", "fact", "os dias de um ano bissexto", "Quantos dias tem um ano bissexto?"),
    ("pt-BR", "fact", "o maior mamífero do mundo", "Qual é o maior mamífero do mundo?"),
    ("pt-BR", "fact", "a composição da água", "De que é feita a água?"),
    ("pt-BR", "fact", "a estrela do nosso sistema solar", "Qual é a estrela do nosso sistema solar?"),
    ("pt-BR", "fact", "o ponto mais alto do Brasil", "Qual é o ponto mais alto do Brasil?"),
    ("pt-BR", "fact", "o autor de Dom Casmurro", "Quem escreveu Dom Casmurro?"),
    ("pt-BR", "definition", "fotossíntese", "O que é fotossíntese?"),
    ("pt-BR", "definition", 'a palavra "saudade"', 'O que significa "saudade"?'),
    ("pt-BR", "definition", "números primos", "O que é um número primo?"),
    ("pt-BR", "definition", "a gravidade", "O que é a gravidade?"),
    ("pt-BR", "definition", "as células", "O que é uma célula?"),
    ("pt-BR", "definition", "os substantivos", "O que é um substantivo?"),
    ("pt-BR", "definition", 'a palavra "resiliência"', 'O que significa "resiliência"?'),
    ("pt-BR", "definition", "os eclipses", "O que é um eclipse?"),
    ("pt-BR", "definition", "a reciclagem", "O que é reciclagem?"),
    ("pt-BR", "definition", "os ecossistemas", "O que é um ecossistema?"),
    ("pt-BR", "definition", "a inflação", "O que é inflação?"),
    ("pt-BR", "definition", "as metáforas", "O que é uma metáfora?"),
    ("pt-BR", "advice", "dormir melhor", "Como posso dormir melhor?"),
    ("pt-BR", "advice", "estudar melhor", "Dê dicas para estudar melhor."),
    ("pt-BR", "advice", "a ansiedade antes de uma prova", "Como controlar a ansiedade antes de uma prova?"),
    ("pt-BR", "advice", "começar a se exercitar", "Como começar a fazer exercícios?"),
    ("pt-BR", "advice", "economizar dinheiro", "Como economizar um pouco de dinheiro todo mês?"),
    ("pt-BR", "advice", "causar uma boa primeira impressão", "Como causar uma boa primeira impressão?"),
    ("pt-BR", "advice", "beber mais água", "Como beber mais água durante o dia?"),
    ("pt-BR", "advice", "aprender inglês sozinho", "Tem dicas para aprender inglês sozinho?"),
    ("pt-BR", "advice", "manter a casa organizada", "Como manter a casa organizada?"),
    ("pt-BR", "advice", "ser produtivo de manhã", "Como ser mais produtivo de manhã?"),
    ("pt-BR", "advice", "a mala de fim de semana", "O que levar numa viagem de fim de semana?"),
    ("pt-BR", "advice", "dizer não com educação", "Como dizer não de forma educada?"),
    ("pt-BR", "writing", "um haicai sobre o mar", "Escreva um haicai sobre o mar."),
    ("pt-BR", "writing", "um poema de dois versos sobre café", "Escreva um poema de dois versos sobre café."),
    (
        "pt-BR",
        "writing",
        "uma mensagem de aniversário",
        "Escreva uma mensagem curta de aniversário para um amigo.",
    ),
    ("pt-BR", "writing", "uma frase sobre o outono", "Descreva o outono em uma frase."),
    ("pt-BR", "writing", "um haicai sobre a lua", "Escreva um haicai sobre a lua."),
    (
        "pt-BR",
        "writing",
        "um bilhete de agradecimento",
        "Escreva um bilhete curto de agradecimento para uma professora.",
    ),
    ("pt-BR", "writing", "um nome para uma padaria", "Sugira um nome criativo para uma padaria."),
    (
        "pt-BR",
        "writing",
        "um poema de dois versos sobre a chuva",
        "Escreva um poema de dois versos sobre a chuva.",
    ),
    ("pt-BR", "writing", "um slogan sobre reciclagem", "Crie um slogan curto sobre reciclagem."),
    ("pt-BR", "writing", "uma frase sobre o pôr do sol", "Descreva um pôr do sol em uma frase."),
    ("pt-BR", "explain", "por que o céu é azul", "Por que o céu é azul?"),
    ("pt-BR", "explain", "as estações do ano", "Por que existem as estações do ano?"),
    ("pt-BR", "explain", "como os aviões voam", "Como os aviões conseguem voar?"),
    ("pt-BR", "explain", "por que os gatos ronronam", "Por que os gatos ronronam?"),
    ("pt-BR", "explain", "como o arco-íris se forma", "Como se forma o arco-íris?"),
    ("pt-BR", "explain", "por que o gelo flutua", "Por que o gelo flutua na água?"),
    ("pt-BR", "explain", "como as vacinas funcionam", "Como funcionam as vacinas?"),
    ("pt-BR", "explain", "a mudança de cor das folhas", "Por que as folhas mudam de cor no outono?"),
    ("pt-BR", "explain", "o que causa o trovão", "O que causa o trovão?"),
    ("pt-BR", "explain", "como um ímã funciona", "Como funciona um ímã?"),
    ("pt-BR", "explain", "por que precisamos dormir", "Por que precisamos dormir?"),
    ("pt-BR", "explain", "por que o mar é salgado", "Por que o mar é salgado?"),
    ("pt-BR", "greeting", "um oi", "Olá!"),
    ("pt-BR", "greeting", "um oi e um tudo bem", "Oi, tudo bem?"),
    ("pt-BR", "greeting", "um bom-dia", "Bom dia!"),
    ("pt-BR", "greeting", "um agradecimento", "Obrigado pela ajuda!"),
    ("pt-BR", "greeting", "uma pergunta sobre o que eu sei fazer", "E aí, o que você sabe fazer?"),
    ("pt-BR", "greeting", "um boa-noite", "Boa noite!"),
    ("pt-BR", "convert", "os minutos de uma hora", "Quantos minutos tem uma hora?"),
    ("pt-BR", "convert", "os centímetros de um metro", "Quantos centímetros tem um metro?"),
    ("pt-BR", "convert", "os dias de uma semana", "Quantos dias tem uma semana?"),
    ("pt-BR", "convert", "os gramas de um quilo", "Quantos gramas tem um quilo?"),
    ("pt-BR", "convert", "os meses de um ano", "Quantos meses tem um ano?"),
    ("pt-BR", "convert", "os segundos de um minuto", "Quantos segundos tem um minuto?"),
)

PROMPTS: tuple[tuple[str, str], ...] = tuple((lang, prompt) for lang, _, _, prompt in ENTRIES)
BY_PROMPT = {(lang, prompt): (category, topic) for lang, category, topic, prompt in ENTRIES}

THOUGHTS = {
    "en": {
        "fact": (
            "The user asks about {topic}. A short, direct answer is best.",
            "A simple factual question about {topic}. One clear sentence will do.",
            "This asks for {topic}. I know it; answer directly and briefly.",
        ),
        "definition": (
            "The user wants to know what {topic} means. A clear definition in a sentence or two is enough.",
            "A definition question about {topic}. Keep it simple, maybe with a tiny example.",
            "Define {topic} in plain words, briefly.",
        ),
        "advice": (
            "The user wants practical advice on {topic}. A few short, friendly tips are best.",
            "A request for tips about {topic}. Keep them concrete and brief.",
            "Advice about {topic}: a short list of simple, doable ideas.",
        ),
        "writing": (
            "The user asks for {topic}. Keep it short and follow the requested form.",
            "A small creative task: {topic}. Aim for a fresh image and keep the form.",
            "Write {topic}, brief and warm.",
        ),
        "explain": (
            "The user wants to understand {topic}. A simple explanation in a few sentences works.",
            "An explanation question: {topic}. Start with the main idea, then one detail.",
            "Explain {topic} simply, without jargon.",
        ),
        "greeting": (
            "The user sends {topic}. A warm, brief reply is best.",
            "A friendly message ({topic}). Reply kindly and offer help.",
            "Just {topic}. Answer warmly in a line.",
        ),
        "convert": (
            "The user asks about {topic}. A short answer with the number is enough.",
            "A simple conversion: {topic}. State it directly.",
            "A unit question about {topic}. One short sentence.",
        ),
    },
    "pt-BR": {
        "fact": (
            "O usuário pergunta sobre {topic}. Uma resposta curta e direta é melhor.",
            "Pergunta factual simples sobre {topic}. Uma frase clara basta.",
            "A pergunta é sobre {topic}. Responder de forma direta e breve.",
        ),
        "definition": (
            "O usuário quer entender o conceito: {topic}. Uma definição clara, em uma ou duas frases, basta.",
            "Pergunta de definição sobre {topic}. Explicar de forma simples, talvez com um exemplo.",
            "Definir {topic} com palavras simples e de forma breve.",
        ),
        "advice": (
            "O usuário quer conselhos práticos sobre {topic}. Algumas dicas curtas e gentis são melhores.",
            "Pedido de dicas sobre {topic}. Ser concreto e breve.",
            "Conselho sobre {topic}: uma lista curta de ideias simples.",
        ),
        "writing": (
            "O usuário pede {topic}. Manter curto e seguir a forma pedida.",
            "Pequena tarefa criativa: {topic}. Buscar uma imagem bonita e respeitar a forma.",
            "Escrever {topic}, breve e com carinho.",
        ),
        "explain": (
            "O usuário quer entender {topic}. Uma explicação simples, em poucas frases, funciona.",
            "Pergunta de explicação: {topic}. Começar pela ideia principal e depois um detalhe.",
            "Explicar {topic} de forma simples, sem jargão.",
        ),
        "greeting": (
            "O usuário manda {topic}. Uma resposta calorosa e breve é melhor.",
            "Mensagem simpática ({topic}). Responder com gentileza e oferecer ajuda.",
            "Só {topic}. Responder com carinho em uma linha.",
        ),
        "convert": (
            "O usuário pergunta sobre {topic}. Uma resposta curta com o número basta.",
            "Conversão simples: {topic}. Dizer o resultado direto.",
            "Pergunta de unidades sobre {topic}. Uma frase curta.",
        ),
    },
}
SECOND_LINES = {
    "en": ("I will answer in English.", "No need for a long reply.", "Keep the tone friendly."),
    "pt-BR": (
        "Vou responder em português.",
        "Não precisa de uma resposta longa.",
        "Manter um tom simpático.",
    ),
}
GENERIC = {
    "en": ("The user asks a question. A short, clear answer is best.", "A quick question. Answer briefly."),
    "pt-BR": (
        "O usuário faz uma pergunta. Uma resposta curta e clara é melhor.",
        "Pergunta rápida. Responder breve.",
    ),
}


def short_thought(prompt: str, lang: str, rng: random.Random) -> str:
    """A one- or two-line thought for thinking mode that names the topic, never the answer.

    Known prompts use their topic phrase; any other prompt gets a generic thought (it is not
    quoted, so no digit or answer can leak in).
    """
    known = BY_PROMPT.get((lang, prompt))
    if known is None:
        first = rng.choice(GENERIC[lang])
    else:
        category, topic = known
        first = rng.choice(THOUGHTS[lang][category]).format(topic=topic)
    if rng.random() < 0.4:
        return first + "\n" + rng.choice(SECOND_LINES[lang])
    return first


def split_prompts(seed: int) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(train, heldout) prompts: about 15% of each language held out, chosen by `seed`."""
    rng = random.Random(seed)
    held: set[int] = set()
    for lang in ("en", "pt-BR"):
        idx = [i for i, (lg, _) in enumerate(PROMPTS) if lg == lang]
        held.update(rng.sample(idx, round(HELDOUT_SHARE * len(idx))))
    train = tuple(p for i, p in enumerate(PROMPTS) if i not in held)
    return train, tuple(p for i, p in enumerate(PROMPTS) if i in held)
