// The assistant's Markdown, drawn with DOM nodes: every piece of the model's text becomes a text node
// (textContent), never HTML, so no markup the model writes (or a coin name or tool result it repeats)
// reaches the page as markup. Supported: paragraphs, headings, **bold**, *italic*, `code`, fenced code
// blocks, lists, > quotes, tables and links whose address is http(s) or this site's (/path).
(function () {
  "use strict";

  const FENCE = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
  const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
  const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  const QUOTE = /^\s{0,3}>\s?(.*)$/;
  const TABLE_RULE = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;
  // Inline: `code`, **bold**, [label](address), a bare http(s) address, *italic*.
  const INLINE =
    /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([\s\S]+?)\*\*|\[([^\]\n]+)\]\(\s*([^)\s]+)(?:\s+"[^"]*")?\s*\)|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"*])|\*([^*\s](?:[^*]*[^*\s])?)\*/g;

  function el(name, className) {
    const node = document.createElement(name);
    if (className) node.className = className;
    return node;
  }

  // Only http(s) addresses and this site's paths become links (never javascript:, data:, //host).
  function safeUrl(url) {
    if (typeof url !== "string") return null;
    const trimmed = url.trim();
    if (/^https?:\/\/[^\s]+$/i.test(trimmed)) return trimmed;
    if (/^\/(?!\/)[^\s\\]*$/.test(trimmed)) return trimmed;
    return null;
  }

  function link(url, label) {
    const anchor = el("a");
    anchor.href = url;
    anchor.textContent = label;
    if (!url.startsWith("/")) {
      anchor.target = "_blank";
      anchor.rel = "noopener noreferrer nofollow";
    }
    return anchor;
  }

  function inline(text, parent) {
    let at = 0;
    INLINE.lastIndex = 0;
    let match;
    while ((match = INLINE.exec(text)) !== null) {
      if (match.index > at) parent.appendChild(document.createTextNode(text.slice(at, match.index)));
      at = INLINE.lastIndex;
      if (match[1]) {
        const code = el("code");
        code.textContent = match[2].replace(/^ (.*) $/, "$1");
        parent.appendChild(code);
      } else if (match[3] !== undefined) {
        const strong = el("strong");
        inline(match[3], strong);
        parent.appendChild(strong);
      } else if (match[4] !== undefined) {
        const url = safeUrl(match[5]);
        if (url) parent.appendChild(link(url, match[4]));
        else parent.appendChild(document.createTextNode(match[4])); // the label alone: no unsafe address
      } else if (match[6] !== undefined) {
        parent.appendChild(link(match[6], match[6]));
      } else {
        const em = el("em");
        inline(match[7], em);
        parent.appendChild(em);
      }
      INLINE.lastIndex = at; // the recursion above reused the pattern
    }
    if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
    return parent;
  }

  // Lines of a paragraph keep their breaks: the models write one line per point more often than not.
  function paragraph(lines) {
    const p = el("p");
    lines.forEach((line, i) => {
      if (i) p.appendChild(el("br"));
      inline(line.trim(), p);
    });
    return p;
  }

  function cells(line) {
    let row = line.trim();
    if (row.startsWith("|")) row = row.slice(1);
    if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
    return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
  }

  function table(header, rows) {
    const wrap = el("div", "md-table");
    const tableNode = el("table");
    const head = el("thead");
    const headRow = el("tr");
    header.forEach((cell) => headRow.appendChild(inline(cell, el("th"))));
    head.appendChild(headRow);
    tableNode.appendChild(head);
    const body = el("tbody");
    rows.forEach((row) => {
      const tr = el("tr");
      header.forEach((_, i) => tr.appendChild(inline(row[i] || "", el("td"))));
      body.appendChild(tr);
    });
    tableNode.appendChild(body);
    wrap.appendChild(tableNode);
    return wrap;
  }

  function startsBlock(line, next) {
    return (
      FENCE.test(line) || HEADING.test(line) || RULE.test(line) || ITEM.test(line) || QUOTE.test(line) ||
      (line.includes("|") && next !== undefined && TABLE_RULE.test(next) && next.includes("-"))
    );
  }

  function blocks(lines, parent) {
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let match;
      if (!line.trim()) {
        i += 1;
      } else if ((match = FENCE.exec(line))) {
        const fence = match[1];
        const body = [];
        i += 1;
        while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
        i += 1; // the closing fence (or the end of a block still streaming)
        const pre = el("pre");
        const code = el("code");
        if (match[2]) code.dataset.language = match[2];
        code.textContent = body.join("\n");
        pre.appendChild(code);
        parent.appendChild(pre);
      } else if ((match = HEADING.exec(line))) {
        const level = Math.min(6, match[1].length + 2); // the page has its own h1 and h2
        parent.appendChild(inline(match[2], el("h" + level)));
        i += 1;
      } else if (RULE.test(line)) {
        parent.appendChild(el("hr"));
        i += 1;
      } else if (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) && lines[i + 1].includes("-")) {
        const header = cells(line);
        const rows = [];
        i += 2;
        while (i < lines.length && lines[i].trim() && lines[i].includes("|")) rows.push(cells(lines[i++]));
        parent.appendChild(table(header, rows));
      } else if (QUOTE.test(line)) {
        const quoted = [];
        while (i < lines.length && (match = QUOTE.exec(lines[i]))) {
          quoted.push(match[1]);
          i += 1;
        }
        parent.appendChild(blocks(quoted, el("blockquote")));
      } else if ((match = ITEM.exec(line))) {
        i = list(lines, i, parent);
      } else {
        const text = [];
        while (i < lines.length && lines[i].trim() && !(text.length && startsBlock(lines[i], lines[i + 1]))) {
          text.push(lines[i++]);
        }
        parent.appendChild(paragraph(text));
      }
    }
    return parent;
  }

  // A list and the lists nested in it (by indentation); returns the index of the first line after it.
  function list(lines, i, parent) {
    const first = ITEM.exec(lines[i]);
    const indent = first[1].length;
    const ordered = /\d/.test(first[2]);
    const node = el(ordered ? "ol" : "ul");
    if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
    let item = null;
    while (i < lines.length) {
      const line = lines[i];
      const match = ITEM.exec(line);
      if (match && match[1].length >= indent + 2 && item) {
        i = list(lines, i, item);
      } else if (match && match[1].length >= indent - 1 && /\d/.test(match[2]) === ordered) {
        item = inline(match[3], el("li"));
        node.appendChild(item);
        i += 1;
      } else if (!match && line.trim() && /^\s+/.test(line) && item) {
        item.appendChild(el("br"));
        inline(line.trim(), item); // a continuation line of the item
        i += 1;
      } else {
        break;
      }
    }
    parent.appendChild(node);
    return i;
  }

  function render(text) {
    const fragment = document.createDocumentFragment();
    blocks(String(text || "").replace(/\r\n?/g, "\n").split("\n"), fragment);
    return fragment;
  }

  // Draw ``text`` into ``target``, replacing what it held.
  function renderInto(target, text) {
    target.replaceChildren(render(text));
  }

  window.scalpaiboardMarkdown = { render: render, renderInto: renderInto, safeUrl: safeUrl };
})();
