/* Peerstøtte-søgning: progressive enhancement of the chat and document pages.
 *
 * The pages work without this script (the server renders /?q=). With it, a question is asked
 * without reloading: the script fetches /fragments/turn, which is the same `turn` macro the page
 * uses, rendered and autoescaped by our own server, and inserts that HTML as it is, so there is
 * no second renderer here. The conversation (each turn's fragment and the feedback given on it)
 * is kept in sessionStorage, in this browser tab only; nothing about the person is stored on the
 * server. Citations can be copied and passages judged. The question rules and their Danish
 * messages come from data attributes on the form, so they stay the server's.
 */
(function () {
  "use strict";

  var MAX_TURNS = 20;
  var STORAGE_KEY = "peerqa.conversation.v2";
  var RETURN_KEY = "peerqa.returnTo";
  var TIMEOUT_MS = 30000;
  var THANKS = "Tak for din vurdering!";

  function $(selector, root) { return (root || document).querySelector(selector); }

  /** Unhide the copy buttons: without this script they could not work, so they start hidden. */
  function revealCopyButtons(root) {
    root.querySelectorAll(".copy-citation").forEach(function (b) { b.hidden = false; });
  }

  // ---- storage ------------------------------------------------------------------------------

  /** Stored turns: {question, index, html, feedback: {passageId: helpful}}; others are dropped. */
  function loadTurns() {
    try {
      var data = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
      if (!data || data.version !== 2 || !Array.isArray(data.turns)) return [];
      return data.turns.filter(function (t) {
        return t && typeof t.question === "string" && typeof t.html === "string" && Number.isInteger(t.index) &&
          t.feedback && typeof t.feedback === "object";
      });
    } catch (e) {
      return [];
    }
  }

  function saveTurns(turns) {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ version: 2, turns: turns }));
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
        var area = document.createElement("textarea");
        area.className = "visually-hidden";
        area.readOnly = true;
        area.setAttribute("aria-hidden", "true");
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

  /** fetch with a time limit; a failure to get any answer becomes a Danish message. */
  function send(url, options) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    options.signal = controller ? controller.signal : undefined;
    return fetch(url, options).then(function (response) {
      if (timer) window.clearTimeout(timer);
      return response;
    }, function (error) {
      if (timer) window.clearTimeout(timer);
      var timedOut = error && error.name === "AbortError";
      throw new Error(timedOut ? "Søgningen tog for lang tid. Prøv igen om lidt."
                               : "Tjenesten svarer ikke. Tjek forbindelsen, og prøv igen om lidt.");
    });
  }

  function postJson(url, body) {
    return send(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    });
  }

  /** HTML from our own server (autoescaped by Jinja) as nodes, without running anything in it. */
  function parseHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  /** The fragment's HTML for one answered turn; rejects with the message to show the person. */
  function fetchTurn(question, index) {
    var url = "/fragments/turn?" + new URLSearchParams({ q: question, i: String(index) });
    return send(url, { headers: { "Accept": "text/html" } }).then(function (response) {
      return response.text().catch(function () { return ""; }).then(function (html) {
        var content = parseHtml(html);
        if (!response.ok) {
          var reason = $("[data-error]", content);
          if (!reason && response.status === 503) {
            throw new Error("Mange stiller spørgsmål lige nu, så dit spørgsmål blev ikke søgt. Prøv igen om et øjeblik.");
          }
          throw new Error(reason ? reason.textContent.trim() : "Søgningen mislykkedes på grund af en fejl i " +
                          "tjenesten (fejl " + response.status + "). Prøv igen om lidt.");
        }
        if (!$("article.turn", content)) throw new Error("Tjenesten svarede med noget uventet. Prøv igen om lidt.");
        return html;
      });
    });
  }

  /** Show a judgement on a card's feedback form (after sending it, or from storage). */
  function markJudged(feedbackForm, helpful) {
    $(".fb-yes", feedbackForm).setAttribute("aria-pressed", helpful ? "true" : "false");
    $(".fb-no", feedbackForm).setAttribute("aria-pressed", helpful ? "false" : "true");
    var status = $(".feedback-status", feedbackForm);
    status.classList.remove("is-error");
    status.textContent = THANKS;
  }

  /** A stored turn as the article to put in the conversation, with its feedback shown. */
  function turnNode(turn) {
    var node = $("article.turn", parseHtml(turn.html));
    if (!node) return null;
    revealCopyButtons(node);
    node.querySelectorAll("form.feedback").forEach(function (feedbackForm) {
      var helpful = turn.feedback[feedbackForm.elements.passage_id.value];
      if (typeof helpful === "boolean") markJudged(feedbackForm, helpful);
    });
    return node;
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
    var pendingTemplate = $("#pending-turn");
    var turns = loadTurns();
    var busy = false;
    announcer = $("#status");

    /** The server's rules, checked here so that a question it would refuse is not sent. */
    function questionError(question) {
      var text = question.trim();
      if (!text) return form.getAttribute("data-empty-message");
      var length = Array.from(text).length;  // code points, as the server counts
      if (length > Number(form.getAttribute("data-max-chars"))) return form.getAttribute("data-long-message").replace("{length}", String(length));
      return null;
    }

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
      turns.forEach(function (turn) {
        var node = turnNode(turn);
        if (node) conversation.appendChild(node);
      });
      refreshChrome();
    }

    function pendingNode(question) {
      var node = pendingTemplate.content.firstElementChild.cloneNode(true);
      $(".turn-question", node).append(question);
      return node;
    }

    /** Turn numbers only grow (until a new conversation), so card ids stay unique after trimming. */
    function nextIndex() {
      return turns.length ? turns[turns.length - 1].index + 1 : 0;
    }

    /** Put the answer where the pending turn was; after trimming, show the stored turns afresh. */
    function showAnswer(node, pending, trimmed) {
      if (trimmed) { renderAll(); node = conversation.lastElementChild; } else conversation.replaceChild(node, pending);
      refreshChrome();
      var count = node.querySelectorAll(".card").length;
      announce(node.getAttribute("data-abstain") === "true"
        ? "Intet sikkert svar. " + count + " tekststykker, der ligger tættest på."
        : "Svaret er klar: " + count + " tekststykker fra kilderne.");
      var heading = $(".turn-question", node);
      heading.focus({ preventScroll: true });
      heading.scrollIntoView({ block: "start" });
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
      var index = nextIndex();
      fetchTurn(question, index).then(function (html) {
        var turn = { question: question, index: index, html: html, feedback: {} };
        var node = turnNode(turn);
        turn.question = node.getAttribute("data-question");
        turns.push(turn);
        var trimmed = turns.length > MAX_TURNS;
        if (trimmed) turns = turns.slice(-MAX_TURNS);
        saveTurns(turns);
        if (input.value.trim() === question) input.value = "";
        showAnswer(node, pending, trimmed);
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

    function rememberFeedback(feedbackForm, passageId, helpful) {
      var turnEl = feedbackForm.closest(".turn");
      var turn = turns.find(function (t) { return turnEl && "t" + t.index === turnEl.id; });
      if (!turn) return;
      turn.feedback[passageId] = helpful;
      saveTurns(turns);
    }

    function sendFeedback(feedbackForm, helpful) {
      var passageId = feedbackForm.elements.passage_id.value;
      var body = { question: feedbackForm.elements.question.value, passage_id: passageId, helpful: helpful };
      postJson("/api/feedback", body)
        .then(function (response) {
          if (response.status === 404 || response.status === 422) {
            throw new Error("Vurderingen blev ikke gemt: tekststykket findes ikke længere i søgeindekset. " +
                            "Stil spørgsmålet igen.");
          }
          if (response.status === 429 || response.status === 503) {
            throw new Error("Vurderingen blev ikke gemt: tjenesten har travlt lige nu. Prøv igen om lidt.");
          }
          if (!response.ok) throw new Error("Vurderingen blev ikke gemt på grund af en fejl i tjenesten. Prøv igen.");
        })
        .then(function () {
          markJudged(feedbackForm, helpful);
          announce("Tak for din vurdering.");
          rememberFeedback(feedbackForm, passageId, helpful);
        })
        .catch(function (error) {
          var status = $(".feedback-status", feedbackForm);
          status.classList.add("is-error");
          status.textContent = error.message;
          announce(error.message);
        });
    }

    // Put the stored conversation back. A server-rendered answer (/?q=) that is not already its
    // last turn is asked again, so that it is stored too.
    var serverTurns = conversation.querySelectorAll(".turn");
    var answered = $("#main").getAttribute("data-answered") === "true" && serverTurns.length > 0;
    var serverQuestion = answered ? serverTurns[serverTurns.length - 1].getAttribute("data-question") : null;
    var last = turns[turns.length - 1];
    if (answered || turns.length) renderAll();
    if (answered && (!last || last.question !== serverQuestion)) ask(serverQuestion);
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
    revealCopyButtons(document);
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
