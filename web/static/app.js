/* Peerstøtte-søgning: progressive enhancement of the chat and document pages.
 *
 * The pages work without this script (the server renders /?q=). With it, questions go to
 * /api/search without reloading, the conversation is kept in sessionStorage (in this browser tab
 * only; nothing about the person is stored on the server), citations can be copied and passages
 * judged. Data from the API is put into the page as text only (DOM building and textContent),
 * never as HTML. The text helpers at the top mirror web/render.py; tests/test_web_render.py runs
 * them under Node and compares.
 */
(function () {
  "use strict";

  var MAX_QUESTION = 1000;
  var RESULTS = 5;
  var MAX_TURNS = 20;
  var STORAGE_KEY = "peerqa.conversation.v1";
  var RETURN_KEY = "peerqa.returnTo";
  var HEADING = /^(#{1,6})[ \t]+/;
  var ITEM = /^[ \t]{0,3}[-*\u2022][ \t]+/;

  // ---- text helpers, the same rules as web/render.py ----------------------------------------

  function rstrip(s) { return s.replace(/\s+$/, ""); }
  function lstrip(s) { return s.replace(/^\s+/, ""); }

  /** [kind, level, ranges] per block: heading, list (one range per item) or paragraph. */
  function parseBlocks(text) {
    var blocks = [];
    var current = null;
    var position = 0;
    text.split("\n").forEach(function (line) {
      var start = position;
      position += line.length + 1;
      var end = start + rstrip(line).length;
      if (!line.trim()) { current = null; return; }
      var heading = HEADING.exec(line);
      if (heading) {
        blocks.push(["heading", heading[1].length, [[start + heading[0].length, end]]]);
        current = null;
        return;
      }
      var item = ITEM.exec(line);
      if (item) {
        if (!current || current[0] !== "list") { current = ["list", 0, []]; blocks.push(current); }
        current[2].push([start + item[0].length, end]);
        return;
      }
      if (current && current[0] === "list" && (line[0] === " " || line[0] === "\t")) {
        current[2][current[2].length - 1][1] = end;
        return;
      }
      if (!current || current[0] !== "paragraph") {
        current = ["paragraph", 0, [[start + line.length - lstrip(line).length, end]]];
        blocks.push(current);
      } else {
        current[2][0][1] = end;
      }
    });
    return blocks;
  }

  /** text[start:end] cut where the answer flag changes: [{text, answer}]. */
  function segments(text, start, end, answers) {
    var cuts = [start, end];
    answers.forEach(function (span) {
      [span[0], span[1]].forEach(function (x) { if (x > start && x < end) cuts.push(x); });
    });
    cuts = cuts.filter(function (x, i) { return cuts.indexOf(x) === i; }).sort(function (a, b) { return a - b; });
    var result = [];
    for (var i = 0; i + 1 < cuts.length; i++) {
      var a = cuts[i], b = cuts[i + 1];
      var answer = answers.some(function (s) { return s[0] <= a && b <= s[1]; });
      var last = result[result.length - 1];
      if (last && last.answer === answer) last.text += text.slice(a, b);
      else result.push({ text: text.slice(a, b), answer: answer });
    }
    return result.filter(function (s) { return s.text.length > 0; });
  }

  /** API offsets count code points (Python); JavaScript strings count UTF-16 units. */
  function toUnits(text, spans) {
    if (!/[\uD800-\uDFFF]/.test(text)) return spans;
    var units = [0];
    var unit = 0;
    for (var ch of text) { unit += ch.length; units.push(unit); }
    return spans.map(function (s) { return [units[s[0]], units[s[1]]]; });
  }

  /** Sorted spans, joined where only whitespace lies between them (two sentences in a row). */
  function mergeSpans(text, spans) {
    var merged = [];
    spans.slice().sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; }).forEach(function (span) {
      var last = merged[merged.length - 1];
      if (last && !text.slice(last[1], span[0]).trim()) last[1] = Math.max(last[1], span[1]);
      else merged.push([span[0], span[1]]);
    });
    return merged;
  }

  function passageBlocks(text, highlights) {
    var length = Array.from(text).length;
    var spans = (highlights || []).map(function (h) { return [Number(h.start), Number(h.end)]; })
      .filter(function (s) { return s[0] >= 0 && s[0] < s[1] && s[1] <= length; });
    spans = mergeSpans(text, toUnits(text, spans));
    return parseBlocks(text).map(function (block) {
      var pieces = block[2].map(function (r) { return segments(text, r[0], r[1], spans); });
      return block[0] === "list"
        ? { kind: "list", level: 0, segments: [], items: pieces }
        : { kind: block[0], level: block[1], segments: pieces[0], items: [] };
    });
  }

  function documentUrl(hit, question) {
    var url = "/documents/" + encodeURIComponent(hit.doc.id) + "?passage=" + encodeURIComponent(hit.passage_id);
    var hl = (hit.highlights || []).map(function (h) { return h.start + "-" + h.end; }).join(",");
    if (hl) url += "&hl=" + hl;
    if (question) url += "&q=" + encodeURIComponent(question);
    return url + "#cited";
  }

  function safeSourceUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function citation(title, publisher, section, url) {
    var parts = [title.trim() + ".", publisher.trim() + "."];
    if (section.trim()) parts.push("Afsnit: " + section.trim() + ".");
    parts.push(url);
    return parts.join(" ");
  }

  function questionError(question) {
    var text = question.trim();
    if (!text) return "Skriv et spørgsmål, før du søger.";
    var length = Array.from(text).length;
    if (length > MAX_QUESTION) {
      return "Spørgsmålet er " + length + " tegn langt. Forkort det til højst " + MAX_QUESTION + " tegn.";
    }
    return null;
  }

  var helpers = {
    parseBlocks: parseBlocks, segments: segments, passageBlocks: passageBlocks, documentUrl: documentUrl,
    citation: citation, safeSourceUrl: safeSourceUrl, questionError: questionError
  };
  if (typeof module === "object" && module.exports) { module.exports = helpers; return; }

  // ---- DOM helpers --------------------------------------------------------------------------

  function $(selector, root) { return (root || document).querySelector(selector); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function hiddenText(text) { return el("span", { className: "visually-hidden", text: text }); }

  function segmentNodes(segs) {
    return segs.map(function (s) {
      return s.answer ? el("mark", { className: "answer", text: s.text }) : document.createTextNode(s.text);
    });
  }

  function passageNode(hit) {
    var box = el("div", { className: "passage" });
    passageBlocks(hit.text, hit.highlights).forEach(function (block) {
      if (block.kind === "heading") {
        box.appendChild(el("p", { className: "md-heading md-h" + block.level }, segmentNodes(block.segments)));
      } else if (block.kind === "list") {
        box.appendChild(el("ul", { className: "md-list" }, block.items.map(function (item) {
          return el("li", null, segmentNodes(item));
        })));
      } else {
        box.appendChild(el("p", { className: "md-para" }, segmentNodes(block.segments)));
      }
    });
    return box;
  }

  function absolute(path) { return window.location.origin + path; }

  function cardNode(hit, turnIndex, question, judged) {
    var id = "t" + turnIndex + "-r" + hit.rank;
    var source = safeSourceUrl(hit.doc.source_url);
    var cite = citation(hit.doc.title, hit.doc.publisher, hit.section || "", source || absolute(documentUrl(hit)));
    var pressed = function (value) { return judged === value ? "true" : "false"; };
    var form = el("form", { className: "feedback", method: "post", action: "/feedback" }, [
      el("input", { type: "hidden", name: "question", value: question }),
      el("input", { type: "hidden", name: "passage_id", value: hit.passage_id }),
      el("input", { type: "hidden", name: "back", value: "/" }),
      el("span", { className: "feedback-label", id: id + "-fb", text: "Var tekststykket hjælpsomt?" }),
      el("span", { className: "feedback-buttons", role: "group", "aria-labelledby": id + "-fb" }, [
        el("button", { type: "submit", className: "action fb-yes", name: "helpful", value: "1",
                       "aria-pressed": pressed(true), text: "Hjælpsomt" }),
        el("button", { type: "submit", className: "action fb-no", name: "helpful", value: "0",
                       "aria-pressed": pressed(false), text: "Ikke hjælpsomt" })
      ]),
      el("span", { className: "feedback-status", text: judged === undefined ? "" : "Tak for din vurdering!" })
    ]);
    return el("li", { className: "card" + (hit.rank === 1 ? " card-top" : ""), id: id,
                      "data-passage-id": hit.passage_id, "data-citation": cite }, [
      el("div", { className: "card-head" }, [
        el("span", { className: "rank", "aria-hidden": "true", text: String(hit.rank) }),
        el("h3", { className: "card-title" }, [hiddenText("Nr. " + hit.rank + ": "), hit.doc.title])
      ]),
      el("p", { className: "card-source" }, [
        hit.section ? el("span", { className: "section" }, [hiddenText("Afsnit: "), hit.section]) : null,
        el("span", { className: "publisher" }, [hiddenText("Udgiver: "), hit.doc.publisher])
      ]),
      passageNode(hit),
      el("div", { className: "card-actions" }, [
        el("a", { className: "action doc-link", href: documentUrl(hit), text: "Vis i dokumentet" }),
        source ? el("a", { className: "action source-link", href: source, rel: "noopener noreferrer",
                           text: "Original side" }) : null,
        el("button", { type: "button", className: "action copy-citation", text: "Kopiér kilde" }),
        form
      ])
    ]);
  }

  function turnNode(turn, index) {
    var response = turn.response;
    var question = response.query || turn.question;
    var answer = el("div", { className: "turn-answer" });
    var results = response.results || [];
    if (!results.length) {
      answer.appendChild(el("p", { className: "notice notice-abstain",
        text: "Der blev ikke fundet nogen tekststykker. Prøv at spørge med andre ord." }));
    } else {
      if (response.abstain) {
        answer.appendChild(el("div", { className: "notice notice-abstain" }, [el("p", null, [
          el("strong", { text: "Intet sikkert svar." }),
          " Materialet ser ikke ud til at svare direkte på spørgsmålet. Herunder er de tekststykker, der " +
          "ligger tættest på – læs dem med forbehold, eller prøv at spørge med andre ord."
        ])]));
      }
      answer.appendChild(el("p", { className: "turn-summary", text: results.length +
        " tekststykker fra kilderne, det bedste først. Sætningen, der svarer, er fremhævet." }));
      answer.appendChild(el("ol", { className: "cards" }, results.map(function (hit) {
        return cardNode(hit, index, question, (turn.feedback || {})[hit.passage_id]);
      })));
    }
    return el("article", { className: "turn", id: "t" + index, "data-question": question,
                           "aria-labelledby": "t" + index + "-q" }, [
      el("h2", { className: "turn-question", id: "t" + index + "-q", tabindex: "-1" },
         [hiddenText("Dit spørgsmål: "), question]),
      answer
    ]);
  }

  function pendingNode(question) {
    return el("article", { className: "turn turn-pending", "aria-busy": "true" }, [
      el("h2", { className: "turn-question" }, [hiddenText("Dit spørgsmål: "), question]),
      el("p", { className: "pending" }, [el("span", { className: "spinner", "aria-hidden": "true" }),
                                          "Søger i materialet …"])
    ]);
  }

  // ---- storage ------------------------------------------------------------------------------

  function loadTurns() {
    try {
      var data = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
      if (!data || data.version !== 1 || !Array.isArray(data.turns)) return [];
      return data.turns.filter(function (t) {
        return t && typeof t.question === "string" && t.response && Array.isArray(t.response.results);
      });
    } catch (e) {
      return [];
    }
  }

  function saveTurns(turns) {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ version: 1, turns: turns }));
    } catch (e) { /* storage full or switched off: the page still works, only reloads forget */ }
  }

  function storageGet(key) { try { return window.sessionStorage.getItem(key); } catch (e) { return null; } }
  function storageSet(key, value) {
    try {
      if (value === null) window.sessionStorage.removeItem(key); else window.sessionStorage.setItem(key, value);
    } catch (e) { /* ignore */ }
  }

  // ---- shared behaviour ---------------------------------------------------------------------

  var announcer = null;
  function announce(text) {
    if (!announcer) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function copyText(text) {
    function fallback() {
      return new Promise(function (resolve, reject) {
        var active = document.activeElement;
        var area = el("textarea", { className: "visually-hidden", readonly: true, "aria-hidden": "true" });
        area.value = text;
        document.body.appendChild(area);
        area.select();
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        area.remove();
        if (active && active.focus) active.focus();
        if (ok) resolve(); else reject(new Error("copy failed"));
      });
    }
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(fallback);
    }
    return fallback();
  }

  function onCopyClick(button) {
    var holder = button.closest("[data-citation]");
    if (!holder) return;
    var text = holder.getAttribute("data-citation");
    var label = "Kopiér kilde";
    copyText(text).then(function () {
      button.textContent = "Kopieret";
      announce("Kopieret. Kilden ligger nu i udklipsholderen.");
      window.setTimeout(function () { button.textContent = label; }, 2500);
    }, function () {
      announce("Kilden kunne ikke kopieres automatisk. Kilden er: " + text);
      window.prompt("Kopiér kilden:", text);
    });
  }

  function postJson(url, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, 30000) : null;
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (timer) window.clearTimeout(timer);
      return response;
    }, function (error) {
      if (timer) window.clearTimeout(timer);
      var timedOut = error && error.name === "AbortError";
      throw new Error(timedOut ? "Søgningen tog for lang tid. Prøv igen om lidt."
                               : "Tjenesten svarer ikke. Tjek forbindelsen, og prøv igen om lidt.");
    });
  }

  // ---- chat page ----------------------------------------------------------------------------

  function initChat() {
    var form = $("#ask");
    var input = $("#q");
    var conversation = $("#conversation");
    var intro = $("#intro");
    var errorBox = $("#q-error");
    var button = $("#ask-button");
    var clearButton = $("#clear-conversation");
    var turns = loadTurns();
    var busy = false;
    announcer = $("#status");

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "q-hint q-error");
    }

    function hideError() {
      errorBox.hidden = true;
      errorBox.textContent = "";
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", "q-hint");
    }

    function refreshChrome() {
      var hasTurns = conversation.querySelector(".turn") !== null;
      intro.hidden = hasTurns;
      clearButton.hidden = !hasTurns;
    }

    function renderAll() {
      conversation.textContent = "";
      turns.forEach(function (turn, i) { conversation.appendChild(turnNode(turn, i)); });
      refreshChrome();
    }

    function search(question) {
      return postJson("/api/search", { q: question, k: RESULTS }).then(function (response) {
        if (response.status === 422) {
          throw new Error("Spørgsmålet kan ikke søges på. Skriv et spørgsmål på 1 til " + MAX_QUESTION + " tegn.");
        }
        if (!response.ok) {
          throw new Error("Søgningen mislykkedes på grund af en fejl i tjenesten (fejl " + response.status +
                          "). Prøv igen om lidt.");
        }
        return response.json().then(function (data) {
          if (!data || !Array.isArray(data.results)) throw new Error("bad response");
          return data;
        }).catch(function () {
          throw new Error("Tjenesten svarede med noget uventet. Prøv igen om lidt.");
        });
      });
    }

    function ask(question) {
      if (busy) return;
      var problem = questionError(question);
      if (problem) {
        input.value = question;
        showError(problem);
        input.focus();
        return;
      }
      question = question.trim();
      hideError();
      busy = true;
      button.setAttribute("aria-disabled", "true");
      intro.hidden = true;
      var pending = pendingNode(question);
      conversation.appendChild(pending);
      pending.scrollIntoView({ block: "nearest" });
      announce("Søger i materialet …");
      search(question).then(function (data) {
        var turn = { question: data.query || question, response: data, feedback: {} };
        turns.push(turn);
        var trimmed = turns.length > MAX_TURNS;
        if (trimmed) turns = turns.slice(-MAX_TURNS);
        saveTurns(turns);
        var node = turnNode(turn, turns.length - 1);
        if (trimmed) { renderAll(); node = conversation.lastElementChild; } else conversation.replaceChild(node, pending);
        if (input.value.trim() === question) input.value = "";
        refreshChrome();
        var count = data.results.length;
        announce(data.abstain ? "Intet sikkert svar. " + count + " tekststykker, der ligger tættest på."
                              : "Svaret er klar: " + count + " tekststykker fra kilderne.");
        var heading = node.querySelector(".turn-question");
        heading.focus({ preventScroll: true });
        heading.scrollIntoView({ block: "start" });
      }, function (error) {
        pending.remove();
        refreshChrome();
        input.value = question;
        showError(error.message);
        announce("");
        input.focus();
      }).then(function () {
        busy = false;
        button.removeAttribute("aria-disabled");
      });
    }

    function sendFeedback(feedbackForm, helpful) {
      var question = feedbackForm.elements.question.value;
      var passageId = feedbackForm.elements.passage_id.value;
      var status = $(".feedback-status", feedbackForm);
      postJson("/api/feedback", { question: question, passage_id: passageId, helpful: helpful })
        .then(function (response) {
          if (response.status === 422) {
            throw new Error("Vurderingen blev ikke gemt: tekststykket findes ikke længere i søgeindekset. " +
                            "Stil spørgsmålet igen.");
          }
          if (!response.ok) throw new Error("Vurderingen blev ikke gemt på grund af en fejl i tjenesten. Prøv igen.");
        })
        .then(function () {
          $(".fb-yes", feedbackForm).setAttribute("aria-pressed", helpful ? "true" : "false");
          $(".fb-no", feedbackForm).setAttribute("aria-pressed", helpful ? "false" : "true");
          status.classList.remove("is-error");
          status.textContent = "Tak for din vurdering!";
          announce("Tak for din vurdering.");
          var turnEl = feedbackForm.closest(".turn");
          var index = turnEl ? Number(turnEl.id.slice(1)) : -1;
          if (turns[index] && turns[index].response.query === question) {
            turns[index].feedback = turns[index].feedback || {};
            turns[index].feedback[passageId] = helpful;
            saveTurns(turns);
          }
        })
        .catch(function (error) {
          status.classList.add("is-error");
          status.textContent = error.message;
          announce(error.message);
        });
    }

    // Put the stored conversation back. A server-rendered answer (/?q=) that is not already its
    // last turn is asked again through the API, so that it is stored too.
    var main = $("#main");
    var serverTurns = conversation.querySelectorAll(".turn");
    var answered = main.getAttribute("data-answered") === "true" && serverTurns.length > 0;
    var serverQuestion = answered ? serverTurns[serverTurns.length - 1].getAttribute("data-question") : null;
    if (answered) {
      var last = turns[turns.length - 1];
      renderAll();
      if (!last || last.response.query !== serverQuestion) ask(serverQuestion);
    } else if (turns.length) {
      renderAll();
    }
    if (window.location.search && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.hash);
    }
    refreshChrome();

    var returnTo = storageGet(RETURN_KEY);
    storageSet(RETURN_KEY, null);
    var returnCard = returnTo ? document.getElementById(returnTo) : null;
    if (returnCard) {
      returnCard.scrollIntoView({ block: "center" });
      var link = $(".doc-link", returnCard);
      if (link) link.focus({ preventScroll: true });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ask(input.value);
    });

    intro.addEventListener("click", function (event) {
      var link = event.target.closest("a.example");
      if (!link) return;
      event.preventDefault();
      var question = new URL(link.href).searchParams.get("q") || link.textContent;
      input.value = question;
      ask(question);
    });

    conversation.addEventListener("click", function (event) {
      var docLink = event.target.closest("a.doc-link");
      if (docLink) {
        var cardEl = docLink.closest(".card");
        if (cardEl) storageSet(RETURN_KEY, cardEl.id);
      }
    });

    conversation.addEventListener("submit", function (event) {
      var feedbackForm = event.target.closest("form.feedback");
      if (!feedbackForm) return;
      event.preventDefault();
      var submitter = event.submitter || document.activeElement;
      var value = submitter && submitter.value;
      if (value === "1" || value === "0") sendFeedback(feedbackForm, value === "1");
    });

    clearButton.addEventListener("click", function () {
      turns = [];
      saveTurns(turns);
      conversation.textContent = "";
      hideError();
      refreshChrome();
      announce("Samtalen er ryddet.");
      input.focus();
    });
  }

  // ---- document page ------------------------------------------------------------------------

  function initDocument() {
    announcer = $("#status");
    var cited = document.getElementById("cited");
    if (!cited) return;
    // After the browser's own jump to #cited (which puts it at the very top): a short passage
    // is centred so the text before it shows too; reading (and a screen reader) starts there.
    function place() {
      cited.scrollIntoView({ block: cited.offsetHeight < window.innerHeight * 0.7 ? "center" : "start" });
      cited.focus({ preventScroll: true });
    }
    if (document.readyState === "complete") place();
    else window.addEventListener("load", function () { window.setTimeout(place, 0); });
  }

  // A skip link moves the keyboard focus too, not only the view.
  function onSkipLink(link, event) {
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    var focusable = target.matches("input, textarea, select, button, a[href], [tabindex]")
      ? target : target.querySelector("input, textarea, select");
    if (!focusable) return;
    event.preventDefault();
    focusable.focus();
    focusable.scrollIntoView({ block: "center" });
  }

  function init() {
    document.querySelectorAll(".copy-citation").forEach(function (b) { b.hidden = false; });
    document.addEventListener("click", function (event) {
      var copyButton = event.target.closest(".copy-citation");
      if (copyButton) onCopyClick(copyButton);
      var skip = event.target.closest("a.skip-link");
      if (skip) onSkipLink(skip, event);
    });
    if (document.body.classList.contains("page-chat")) initChat();
    else if (document.body.classList.contains("page-document")) initDocument();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
