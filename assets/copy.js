() => {
  // What the chat copies is its words, not its markup. A chat message holds the Markdown that
  // rio_app/render.py made: text HTML-escaped outside code, latent and calculator tokens in
  // marked spans, a framed answer in a span, app notes in a span. `plain` undoes that (as
  // render.plain_text does on the server; the two change together): code is kept byte for byte,
  // notes are dropped, and a framed answer reads as its words.
  const decode = (s) => {
    const area = document.createElement("textarea");
    area.innerHTML = s;
    return area.value;
  };
  const unrender = (s) =>
    decode(
      s
        .replace(/<span class="rio-note">[\s\S]*?<\/span>/g, "")
        .replace(/<span class="rio-boxed">([^<]*)<\/span>/g, "$1")
        .replace(/<span class="rio-(?:latent|computed)"(?: title="[^"]*")?>|<\/span>/g, ""),
    );
  const plain = (s) => {
    let out = "";
    let pos = 0;
    for (const m of s.matchAll(/```[\s\S]*?(?:```|$)|`[^`\n]+`/g)) {
      out += unrender(s.slice(pos, m.index)) + m[0];
      pos = m.index + m[0].length;
    }
    return (out + unrender(s.slice(pos))).trim();
  };

  // A page served over plain http from another machine has no navigator.clipboard. The older copy
  // command still works there, inside the click; the page gets a clipboard that writes with it,
  // so Gradio's copy buttons (which look for navigator.clipboard) come through the cleaning below
  // instead of copying the Markdown themselves.
  const native = navigator.clipboard;
  const write = native
    ? native.writeText.bind(native)
    : async (text) => {
        const area = document.createElement("textarea");
        area.value = text;
        document.body.appendChild(area);
        area.select();
        document.execCommand("copy");
        area.remove();
      };

  // A chat's messages as "Speaker: words" blocks, a thinking message under its title, a file by
  // its name; `w` names the speakers in the page's language.
  const conversation = (messages, w) => {
    const blocks = [];
    for (const m of messages || []) {
      const who = m.role === "user" ? w.user : w.assistant;
      for (const c of m.content || []) {
        if (c.type === "file") {
          const name = c.file?.orig_name || (c.file?.path || "").split("/").pop();
          blocks.push(`${who}: [${name}]`);
        } else if (c.type === "text") {
          const text = plain(c.text);
          const head = m.metadata?.title ? `${who} (${plain(m.metadata.title)})` : who;
          if (text) blocks.push(`${head}: ${text}`);
        }
      }
    }
    return blocks;
  };
  const wordsOf = (words) =>
    words[document.querySelector("#rio-header .rio-header")?.lang || "en"] || words.en;
  // the button shows a check mark for a moment once the words are on the clipboard; refused (no
  // permission): no check mark
  const copyBlocks = (blocks, buttonId) => {
    if (!blocks.length) return;  // nothing to copy: no check mark
    write(blocks.join("\n\n")).then(() => {
      const button = document.getElementById(buttonId);
      if (!button) return;
      button.dataset.copied = "";
      clearTimeout(button.rioCopiedTimer);
      button.rioCopiedTimer = setTimeout(() => delete button.dataset.copied, 1500);
    }, () => {});
  };

  // The chat's "Copy conversation" button.
  window.rioCopyConversation = (messages, words) => {
    copyBlocks(conversation(messages, wordsOf(words)), "rio-copy");
    return [];
  };

  // The race's "Copy both runs" button: each pane's conversation under the pane's name, then the
  // verdict.
  window.rioCopyRace = (a, b, verdict, words) => {
    const w = wordsOf(words);
    const runs = [[w.race_a, a], [w.race_b, b]].filter(([, m]) => m?.length);
    const blocks = runs.flatMap(([name, m]) => [`${name}:`, ...conversation(m, w)]);
    if (blocks.length && verdict) blocks.push(plain(verdict));
    copyBlocks(blocks, "rio-race-copy");
    return [];
  };

  // Gradio's copy button under each chat message copies the message's Markdown as it is; a click
  // inside a chat marks the copy it starts, and that copy gets the words instead. A code block's
  // own copy button already copies its code as written, so it is left alone.
  const clipboard = native || {};
  if (!native) Object.defineProperty(navigator, "clipboard", { value: clipboard, configurable: true });
  let fromChat = false;
  document.addEventListener(
    "click",
    (e) => (fromChat = !!e.target.closest?.(".rio-chatbot") && !e.target.closest(".code_wrap")),
    true,
  );
  clipboard.writeText = (text) => {
    const clean = fromChat && typeof text === "string";
    fromChat = false;
    return write(clean ? plain(text) : text);
  };
}
