/*! Assistant SPIE : widget de discussion intégrable (sans dépendance).
 *
 * Intégration (une ligne, avant </body> ou dans <head>) :
 *   <script src="https://assistant.example.fr/widget.js" data-server="https://rasa.example.fr" defer></script>
 *
 * Options (attributs data- de la balise <script>) :
 *   data-server          obligatoire : adresse du serveur Rasa (canal REST /webhooks/rest/webhook)
 *   data-title           titre du panneau (défaut « Assistant SPIE »)
 *   data-color           couleur d'accent, #rgb ou #rrggbb (défaut #1f4e9c) ; la couleur du texte
 *                        posé dessus (noir ou blanc) est choisie pour garder un contraste suffisant
 *   data-greeting        message d'accueil affiché à l'ouverture d'une nouvelle conversation
 *   data-suggestions     questions proposées sous l'accueil, séparées par « | » (vide : aucune)
 *   data-position        right (défaut) ou left
 *   data-lang            langue des libellés : fr (défaut) ou en
 *   data-privacy         texte de la mention de confidentialité
 *   data-retention-days  durée de conservation en jours (défaut 90, comme CONVERSATION_RETENTION_DAYS
 *                        côté serveur) : citée dans la mention par défaut, et appliquée à la conversation
 *                        gardée dans le navigateur ; au chargement, une conversation sans activité depuis
 *                        plus longtemps est effacée (nouvel identifiant : l'historique du serveur n'est pas
 *                        rejoint) et, sinon, ses messages plus anciens que cette durée sont retirés
 *   data-privacy-url     lien « En savoir plus » de la mention (http/https)
 *   data-stylesheet      feuille de style à utiliser (défaut : widget.css à côté de widget.js)
 *   data-maxlength       longueur maximale d'un message (défaut 1000)
 *   data-timeout         délai d'attente d'une réponse, en secondes (défaut 25 : plus que les 20 s
 *                        que le serveur accorde à un tour, TURN_TIMEOUT_SECONDS), puis nouvel essai
 *
 * Envoi : chaque message reçoit un identifiant (message_id) tiré une fois, gardé avec le message en
 * attente dans le localStorage et renvoyé tel quel à chaque nouvel essai, même après un rechargement :
 * le serveur reconnaît la répétition et ne joue pas le tour deux fois. Après un échec (pas de réponse,
 * réseau, 5xx), au plus 3 nouveaux essais automatiques (après 2, 4 puis 8 s), puis le message est
 * marqué « Non envoyé » avec un bouton « Réessayer ». Une réponse 429 affiche le texte français du
 * champ `error` de son corps JSON et renvoie le message après Retry-After (au plus 60 s), dans la même
 * limite d'essais ; le serveur doit exposer cet en-tête (Access-Control-Expose-Headers: Retry-After),
 * sinon l'attente est celle des autres échecs. Les autres refus 4xx ne sont pas renvoyés.
 *
 * Tous les messages sont écrits comme du texte (jamais comme du HTML). Aucun script ni style en
 * ligne, aucun eval : compatible avec une Content-Security-Policy stricte. La page hôte autorise
 * l'origine du widget dans script-src et style-src, et le serveur Rasa dans connect-src.
 * API : window.SpieWidget.open(), .close(), .restart().
 */
(function () {
  "use strict";
  if (window.SpieWidget || !window.fetch || !document.createElement("div").attachShadow) return;

  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll("script[data-server]");
    script = all[all.length - 1];
  }
  if (!script) return;
  var ds = script.dataset;
  var server = (ds.server || "").trim().replace(/\/+$/, "");
  if (!/^https?:\/\//i.test(server)) {
    console.error("[SpieWidget] data-server manquant ou invalide (http(s)://…)");
    return;
  }
  var ENDPOINT = server + "/webhooks/rest/webhook";
  var TIMEOUT_MS = (parseFloat(ds.timeout) > 0 ? parseFloat(ds.timeout) : 25) * 1000;
  var SLOW_MS = Math.min(5000, TIMEOUT_MS / 2);
  // Waits (s) before each automatic re-send of a message that failed; then it is « Non envoyé ».
  var BACKOFF = [2, 4, 8];
  var MAX_RETRY_AFTER = 60; // s: a longer Retry-After is cut to this
  var DAY_MS = 24 * 3600 * 1000;
  var MAX_KEPT = 100;
  var MAXLEN = parseInt(ds.maxlength, 10) > 0 ? parseInt(ds.maxlength, 10) : 1000;

  var LABELS = {
    fr: {
      title: "Assistant SPIE",
      launcher: "Une question ?",
      launcherSr: " Ouvrir l'assistant",
      close: "Fermer l'assistant",
      restart: "Recommencer",
      restarted: "Nouvelle conversation.",
      input: "Votre question",
      placeholder: "Posez votre question…",
      hint: "Entrée pour envoyer, Maj + Entrée pour aller à la ligne.",
      send: "Envoyer",
      you: "Vous : ",
      bot: "L'assistant : ",
      typing: "L'assistant écrit…",
      slow: "La réponse tarde un peu, merci de patienter…",
      log: "Conversation",
      quick: "Réponses suggérées",
      newWindow: " (nouvelle fenêtre)",
      image: "Voir l'image",
      down: "Le service est momentanément indisponible. Votre message est conservé et sera renvoyé automatiquement.",
      retry: "Réessayer maintenant",
      pending: "En attente d'envoi",
      rejected: "Ce message n'a pas pu être traité. Reformulez-le, plus brièvement si possible.",
      notSent: "Non envoyé",
      gaveUp: "Votre message n'a pas pu être envoyé. Vérifiez votre connexion, puis réessayez dans quelques instants.",
      retryAgain: "Réessayer",
      tooMany: "Le service reçoit beaucoup de demandes. Votre message sera renvoyé dans quelques secondes.",
      remaining: "{n} caractères restants",
      privacy: "Vos messages sont conservés {n} jours pour améliorer le service. Ne saisissez pas de données personnelles.",
      privacyMore: "En savoir plus",
      greeting: "Bonjour ! Je réponds à vos questions sur l'appel à manifestation d'intérêt 2021 du Service public de l'insertion et de l'emploi (SPIE), aujourd'hui clos : qui pouvait candidater, ce que les projets devaient montrer, qui contacter dans votre département…"
    },
    en: {
      title: "SPIE assistant",
      launcher: "Any question?",
      launcherSr: " Open the assistant",
      close: "Close the assistant",
      restart: "Start over",
      restarted: "New conversation.",
      input: "Your question",
      placeholder: "Ask your question (in French)…",
      hint: "Enter to send, Shift + Enter for a new line.",
      send: "Send",
      you: "You: ",
      bot: "Assistant: ",
      typing: "The assistant is typing…",
      slow: "The answer is taking a while, please wait…",
      log: "Conversation",
      quick: "Suggested replies",
      newWindow: " (new window)",
      image: "View the image",
      down: "The service is temporarily unavailable. Your message is kept and will be sent again automatically.",
      retry: "Retry now",
      pending: "Waiting to be sent",
      rejected: "This message could not be processed. Please rephrase it, shorter if possible.",
      notSent: "Not sent",
      gaveUp: "Your message could not be sent. Check your connection, then try again in a few moments.",
      retryAgain: "Try again",
      tooMany: "The service is receiving many requests. Your message will be sent again in a few seconds.",
      remaining: "{n} characters left",
      privacy: "Your messages are kept for {n} days to improve the service. Do not enter personal data.",
      privacyMore: "Learn more",
      greeting: "Hello! I answer questions, in French, about the 2021 call for expressions of interest (AMI) of the French public service for integration and employment (SPIE). This call closed on 11 October 2021."
    }
  };
  var lang = ds.lang === "en" ? "en" : "fr";
  var L = LABELS[lang];
  var title = ds.title || L.title;
  var greeting = ds.greeting || L.greeting;
  var suggestions = (ds.suggestions != null ? ds.suggestions : "Qui peut candidater ?|Quelle est la date limite ?|Que savez-vous faire ?")
    .split("|").map(function (s) { return s.trim(); }).filter(Boolean);
  var days = parseInt(ds.retentionDays, 10) > 0 ? parseInt(ds.retentionDays, 10) : 90;
  var privacyText = ds.privacy || L.privacy.replace("{n}", days);

  /* ---------- storage (localStorage, or memory when blocked) ---------- */
  var KEY = "spie-widget:" + server;
  var memory = null;
  function load() {
    try {
      var raw = window.localStorage.getItem(KEY);
      if (raw) return JSON.parse(raw);
    } catch (e) { /* blocked or corrupt */ }
    return memory;
  }
  function store() {
    if (state.msgs.length > MAX_KEPT) state.msgs = state.msgs.slice(-MAX_KEPT);
    // m.el is the message's DOM node: never serialised
    var json = JSON.stringify(state, function (k, v) { return k === "el" ? undefined : v; });
    memory = JSON.parse(json);
    try { window.localStorage.setItem(KEY, json); } catch (e) { /* memory only */ }
  }
  function newId() {
    var bytes = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  // The server's contract: 1 to 64 characters [A-Za-z0-9_-]; both forms fit.
  function newMessageId() {
    return window.crypto && crypto.randomUUID ? crypto.randomUUID() : newId();
  }
  function freshState(isOpen) { return { id: newId(), msgs: [], open: isOpen }; }
  // The browser keeps no more than the server does (CONVERSATION_RETENTION_DAYS): a conversation
  // idle for longer is dropped (null), older messages of a living one are removed. `t` is the last
  // activity, `d` each message's date (ms).
  function withinRetention(s) {
    var now = Date.now(), cutoff = now - days * DAY_MS;
    // kept by an earlier version of the widget (no date), or the clock was put back: count from now
    if (typeof s.t !== "number" || s.t > now) s.t = now;
    if (s.t < cutoff) return null;
    s.msgs = s.msgs.filter(function (m) { return !(m.d < cutoff); });
    return s;
  }
  function forget() {
    memory = null;
    try { window.localStorage.removeItem(KEY); } catch (e) { /* nothing kept */ }
  }
  var state = load();
  if (state && (typeof state.id !== "string" || !Array.isArray(state.msgs))) state = null;
  if (state) {
    state = withinRetention(state);
    if (state) store();
    else forget(); // expired: a new id too, so that the server's history is not joined again
  }
  if (!state) state = freshState(false);

  /* ---------- DOM helpers ---------- */
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function attrs(e, a) { for (var k in a) e.setAttribute(k, a[k]); return e; }
  function sr(text) { return el("span", "sr", text); }
  function icon(d) {
    var ns = "http://www.w3.org/2000/svg";
    var s = document.createElementNS(ns, "svg");
    attrs(s, { viewBox: "0 0 24 24", width: "24", height: "24", "aria-hidden": "true", focusable: "false" });
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", d);
    s.appendChild(p);
    return s;
  }
  function safeUrl(u) {
    try {
      var x = new URL(u, location.href);
      return x.protocol === "http:" || x.protocol === "https:" ? x.href : null;
    } catch (e) { return null; }
  }
  function link(href, text) {
    var a = el("a", null, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.appendChild(sr(L.newWindow));
    return a;
  }
  // Text → nodes: [label](http…), **bold** and bare http(s) URLs; everything else stays text.
  var TOKENS = /\[([^\]\n]{1,300})\]\((https?:\/\/[^\s)]+)\)|\*\*([^*\n]{1,300})\*\*|(https?:\/\/[^\s<>"«»]+)/gi;
  function rich(parent, text) {
    var last = 0, m;
    TOKENS.lastIndex = 0;
    while ((m = TOKENS.exec(text))) {
      var raw = m[0], node = null, tail = "";
      if (m[3]) node = el("strong", null, m[3]);
      else {
        var url = m[2] || m[4], label = m[1];
        if (m[4]) {
          var cut = url.match(/[.,;:!?'")\]]+$/);
          if (cut && !(cut[0] === ")" && url.indexOf("(") >= 0)) {
            tail = cut[0];
            url = url.slice(0, -tail.length);
          }
          label = url;
        }
        var href = safeUrl(url);
        if (href) node = link(href, label);
      }
      if (!node) continue;
      parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      parent.appendChild(node);
      if (tail) parent.appendChild(document.createTextNode(tail));
      last = m.index + raw.length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function plain(text) { return text.replace(TOKENS, function (all, a, b, c, d) { return a || c || d || all; }); }

  /* ---------- build ---------- */
  var host = el("div");
  host.hidden = true; // shown once the stylesheet has loaded
  attrs(host, { "data-spie-widget": "", lang: lang });
  var accent = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(ds.color || "") ? ds.color : null;
  if (accent) {
    // CSSOM custom properties: allowed by a CSP without 'unsafe-inline'.
    var rgb = hexRgb(accent), white = contrast(rgb, [255, 255, 255]), black = contrast(rgb, [0, 0, 0]);
    host.style.setProperty("--spie-accent", accent);
    host.style.setProperty("--spie-on-accent", white >= black ? "#fff" : "#000");
    if (white >= 4.5) host.style.setProperty("--spie-ink", accent);
  }
  function hexRgb(h) {
    h = h.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    return [0, 2, 4].map(function (i) { return parseInt(h.substr(i, 2), 16); });
  }
  function contrast(a, b) {
    function lum(c) {
      return c.reduce(function (s, v, i) {
        v /= 255;
        v = v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        return s + v * [0.2126, 0.7152, 0.0722][i];
      }, 0);
    }
    var x = lum(a), y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }

  var root = host.attachShadow({ mode: "open" });
  var css = el("link");
  css.rel = "stylesheet";
  css.href = ds.stylesheet ? ds.stylesheet : new URL("widget.css", script.src || location.href).href;
  function show() { host.hidden = false; scrollDown(); }
  css.addEventListener("load", show);
  css.addEventListener("error", show);
  root.appendChild(css);

  var wrap = attrs(el("div", "w" + (ds.position === "left" ? " left" : "")), { role: "region", "aria-label": title });
  var launcher = attrs(el("button", "launcher"), { type: "button", "aria-expanded": "false", "aria-controls": "panel", "aria-haspopup": "dialog" });
  launcher.appendChild(icon("M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z"));
  launcher.appendChild(el("span", null, L.launcher));
  launcher.appendChild(sr(L.launcherSr));

  var panel = attrs(el("div", "panel"), { id: "panel", role: "dialog", "aria-labelledby": "title" });
  panel.hidden = true;
  var head = el("div", "head");
  var h = attrs(el("h2", null, title), { id: "title" });
  var restartBtn = attrs(el("button", "hbtn", L.restart), { type: "button" });
  var closeBtn = attrs(el("button", "hbtn close"), { type: "button", "aria-label": L.close, title: L.close });
  closeBtn.appendChild(icon("M6 6l12 12M18 6L6 18"));
  head.appendChild(h);
  head.appendChild(restartBtn);
  head.appendChild(closeBtn);

  var privacy = el("p", "privacy", privacyText + " ");
  var more = ds.privacyUrl && safeUrl(ds.privacyUrl);
  if (more) privacy.appendChild(link(more, L.privacyMore));

  var log = attrs(el("div", "log"), { role: "log", "aria-live": "off", "aria-label": L.log, tabindex: "0" });
  var typing = attrs(el("div", "typing"), { role: "status" });
  var alertBox = attrs(el("div", "alert"), { role: "alert" });
  var form = attrs(el("form", "form"), { novalidate: "" });
  var label = attrs(el("label", "sr", L.input), { for: "input" });
  var input = attrs(el("textarea"), {
    id: "input", rows: "2", maxlength: String(MAXLEN), placeholder: L.placeholder,
    "aria-describedby": "hint counter", autocomplete: "off"
  });
  var hint = attrs(el("span", "sr", L.hint), { id: "hint" });
  var counter = attrs(el("span", "counter"), { id: "counter" });
  var sendBtn = attrs(el("button", "send"), { type: "submit" });
  sendBtn.appendChild(icon("M3 20l18-8L3 4v6l12 2-12 2z"));
  sendBtn.appendChild(el("span", null, L.send));
  var row = el("div", "row");
  row.appendChild(input);
  row.appendChild(sendBtn);
  [label, hint, row, counter].forEach(function (n) { form.appendChild(n); });
  var announcer = attrs(el("div", "sr"), { "aria-live": "polite" });
  [head, privacy, log, typing, alertBox, form, announcer].forEach(function (n) { panel.appendChild(n); });
  wrap.appendChild(launcher);
  wrap.appendChild(panel);
  root.appendChild(wrap);

  /* ---------- transcript ---------- */
  var quick = null;
  function clearQuick() { if (quick) { quick.remove(); quick = null; } }
  function renderMsg(m) {
    var item = el("div", "msg " + (m.f === "u" ? "user" : "bot"));
    var bubble = el("p", "bubble");
    bubble.appendChild(sr(m.f === "u" ? L.you : L.bot));
    if (m.f === "u") bubble.appendChild(document.createTextNode(m.t));
    else {
      bubble.lang = "fr";
      rich(bubble, m.t || "");
      if (m.img) {
        bubble.appendChild(document.createTextNode(m.t ? " " : ""));
        bubble.appendChild(link(m.img, L.image));
      }
    }
    item.appendChild(bubble);
    if (m.p) item.appendChild(el("span", "status", L.pending));
    log.appendChild(item);
    return item;
  }
  function renderQuick(buttons) {
    clearQuick();
    if (!buttons || !buttons.length) return;
    quick = attrs(el("div", "quick"), { role: "group", "aria-label": L.quick });
    buttons.forEach(function (b) {
      var btn = attrs(el("button", null, b.title), { type: "button", lang: "fr" });
      btn.addEventListener("click", function () {
        clearQuick();
        input.focus();
        submit(b.title, b.payload);
      });
      quick.appendChild(btn);
    });
    log.appendChild(quick);
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function renderAll() {
    log.textContent = "";
    quick = null;
    state.msgs.forEach(function (m) { m.el = renderMsg(m); });
    var lastMsg = state.msgs[state.msgs.length - 1];
    if (lastMsg && lastMsg.f === "b") renderQuick(lastMsg.b);
    scrollDown();
  }
  // Every message, the user's or the bot's, is dated: the retention counts from there.
  function append(m) {
    m.d = state.t = Date.now();
    state.msgs.push(m);
    m.el = renderMsg(m);
  }
  function addBot(m, announce) {
    append(m);
    if (announce) {
      var p = el("p", null, L.bot + plain(m.t || "") + (m.img ? " " + L.image : ""));
      announcer.appendChild(p);
    }
  }
  function greet() {
    addBot({ f: "b", t: greeting, b: suggestions.map(function (s) { return { title: s, payload: s }; }) }, true);
    renderQuick(state.msgs[state.msgs.length - 1].b);
    store();
    scrollDown();
  }

  /* ---------- sending, with a queue and automatic retries ---------- */
  // attempt: automatic re-sends of the queue's first message so far; gaveUp: they are spent, the
  // message waits for the user (« Réessayer », a new message, or the network coming back).
  var busy = false, attempt = 0, gaveUp = false, retryTimer = null, controller = null, generation = 0;
  function pendingMsgs() { return state.msgs.filter(function (m) { return m.p; }); }
  function submit(display, message) {
    display = display.trim();
    message = (message == null ? display : message).trim();
    if (!display || !message) return;
    clearQuick();
    // p: waiting to be sent; m: the text sent; id: kept unchanged until the server has answered
    append({ f: "u", t: display.slice(0, MAXLEN), m: message.slice(0, MAXLEN), p: 1, id: newMessageId() });
    store();
    scrollDown();
    if (!retryTimer) pump();
  }
  var slowTimer = null;
  function setBusy(on) {
    busy = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    typing.textContent = "";
    clearTimeout(slowTimer);
    if (on) {
      slowTimer = setTimeout(function () {
        typing.textContent = "";
        typing.appendChild(el("p", "slow", L.slow));
      }, SLOW_MS);
      var dots = attrs(el("span", "dots"), { "aria-hidden": "true" });
      for (var i = 0; i < 3; i++) dots.appendChild(el("span"));
      typing.appendChild(dots);
      typing.appendChild(sr(L.typing));
    }
  }
  var alertShown = null;
  // text, and a retry button if buttonLabel is given; the same alert again is not announced again
  function showAlert(text, buttonLabel) {
    var key = text + "\n" + (buttonLabel || "");
    if (alertShown === key) return;
    hideAlert();
    alertShown = key;
    alertBox.appendChild(el("p", null, text));
    if (!buttonLabel) return;
    var again = attrs(el("button", "hbtn retry", buttonLabel), { type: "button" });
    again.addEventListener("click", function () {
      input.focus(); // the button goes away once the message is through
      resendNow();
    });
    alertBox.appendChild(again);
  }
  function hideAlert() { alertBox.textContent = ""; alertShown = null; }
  function resendNow() {
    clearTimeout(retryTimer);
    retryTimer = null;
    pump();
  }
  function setStatus(m, text, failed) {
    if (!m.el) return;
    var s = m.el.querySelector(".status");
    if (!s) s = m.el.appendChild(el("span", "status"));
    s.textContent = text;
    m.el.classList.toggle("failed", !!failed);
  }
  function markSent(m) {
    delete m.p;
    delete m.m;
    delete m.id;
    var s = m.el && m.el.querySelector(".status");
    if (s) s.remove();
  }
  // Retry-After: seconds or an HTTP date; null when absent or unreadable
  function retryAfterSeconds(value) {
    if (!value) return null;
    var s = /^\s*\d+\s*$/.test(value) ? parseInt(value, 10) : (Date.parse(value) - Date.now()) / 1000;
    if (!(s >= 0)) return null;
    return Math.min(Math.max(s, 1), MAX_RETRY_AFTER);
  }
  // A non-2xx answer as an error; a 429 also carries its French text and its Retry-After.
  function httpError(r) {
    var e = new Error("HTTP " + r.status);
    e.status = r.status;
    if (r.status !== 429) return Promise.reject(e);
    e.wait = retryAfterSeconds(r.headers.get("Retry-After"));
    return r.json().then(function (body) {
      if (body && typeof body.error === "string") e.text = body.error.trim().slice(0, 300);
    }, function () { /* unreadable body: the widget's own text */ }).then(function () { throw e; });
  }
  function isRefusal(err) {
    return err && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429;
  }
  function scheduleResend(m, err) {
    setBusy(false);
    if (attempt >= BACKOFF.length) {
      attempt = 0;
      gaveUp = true;
      setStatus(m, L.notSent, true);
      showAlert(L.gaveUp, L.retryAgain);
      return;
    }
    var seconds = BACKOFF[attempt];
    if (err && err.status === 429) {
      // no button: an immediate retry would only be refused again
      showAlert(err.text || L.tooMany);
      if (err.wait != null) seconds = err.wait;
    } else showAlert(L.down, L.retry);
    attempt++;
    retryTimer = setTimeout(function () { retryTimer = null; pump(); }, seconds * 1000);
  }
  function pump() {
    if (busy) return;
    var m = pendingMsgs()[0];
    if (!m) return;
    if (!m.id) { m.id = newMessageId(); store(); } // queued by an earlier version of the widget
    if (gaveUp) {
      gaveUp = false;
      setStatus(m, L.pending, false);
    }
    var gen = generation;
    setBusy(true);
    scrollDown();
    var ctrl = controller = window.AbortController ? new AbortController() : null;
    var timer = ctrl && setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    fetch(ENDPOINT, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: state.id, message: m.m, message_id: m.id }),
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (r) {
      return r.ok ? r.json() : httpError(r);
    }).then(function (replies) {
      if (gen !== generation) return;
      if (!Array.isArray(replies)) throw new Error("bad reply");
      attempt = 0;
      hideAlert();
      markSent(m);
      announcer.textContent = "";
      var lastButtons = null, first = null;
      replies.forEach(function (r) {
        if (!r || typeof r !== "object") return;
        var text = typeof r.text === "string" ? r.text : "";
        var img = typeof r.image === "string" ? safeUrl(r.image) : null;
        var buttons = Array.isArray(r.buttons) ? r.buttons.filter(function (b) {
          return b && typeof b.title === "string" && b.title && typeof b.payload === "string" && b.payload;
        }).map(function (b) { return { title: b.title, payload: b.payload }; }) : [];
        if (!text && !img && !buttons.length) return;
        var bm = { f: "b", t: text };
        if (img) bm.img = img;
        if (buttons.length) { bm.b = buttons; lastButtons = buttons; }
        addBot(bm, true);
        first = first || bm.el;
      });
      if (lastButtons && !pendingMsgs().length) renderQuick(lastButtons);
      done(first);
    }).catch(function (err) {
      if (gen !== generation) return;
      if (isRefusal(err)) {
        // refused for good (too long, malformed…): give the text back to the user
        markSent(m);
        m.el.classList.add("failed");
        m.el.appendChild(el("span", "status", L.notSent));
        state.msgs.splice(state.msgs.indexOf(m), 1);
        if (!input.value) input.value = m.t;
        announcer.textContent = L.rejected;
        var note = el("p", "note", L.rejected);
        log.appendChild(note);
        done();
        return;
      }
      scheduleResend(m, err);
    }).then(function () {
      if (timer) clearTimeout(timer);
    });
    function done(anchor) {
      setBusy(false);
      store();
      scrollDown();
      // a long answer is shown from its beginning, not from its end
      var top = anchor ? anchor.offsetTop - log.offsetTop - 8 : Infinity;
      if (top < log.scrollTop) log.scrollTop = top;
      pump();
    }
  }
  // Another tab of the same site went on with the conversation: show it here too.
  window.addEventListener("storage", function (e) {
    if (e.key !== KEY || !e.newValue || busy || retryTimer || pendingMsgs().length) return;
    try {
      var next = JSON.parse(e.newValue);
      if (typeof next.id !== "string" || !Array.isArray(next.msgs)) return;
      state = next;
      state.msgs = state.msgs.filter(function (m) { return !m.p; });
      state.open = !panel.hidden;
      renderAll();
    } catch (err) { /* ignore */ }
  });
  window.addEventListener("online", function () {
    if (retryTimer || gaveUp) resendNow();
  });

  /* ---------- open / close / restart ---------- */
  function open(focus) {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    wrap.classList.add("is-open");
    if (!state.msgs.length) greet();
    scrollDown();
    if (focus !== false) input.focus();
    state.open = true;
    store();
  }
  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    wrap.classList.remove("is-open");
    launcher.focus();
    state.open = false;
    store();
  }
  function restart() {
    generation++;
    if (controller) controller.abort();
    clearTimeout(retryTimer);
    retryTimer = null;
    attempt = 0;
    gaveUp = false;
    setBusy(false);
    hideAlert();
    announcer.textContent = "";
    state = freshState(true);
    renderAll();
    announcer.appendChild(el("p", null, L.restarted));
    greet();
    input.focus();
  }

  launcher.addEventListener("click", function () { open(true); });
  closeBtn.addEventListener("click", close);
  restartBtn.addEventListener("click", restart);
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape" || e.key === "Esc") { e.preventDefault(); close(); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.trim()) { input.focus(); return; }
    input.value = "";
    updateCounter();
    submit(text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit();
      else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  var lastStep = null;
  function updateCounter() {
    var left = MAXLEN - input.value.length;
    var near = left <= Math.max(50, Math.round(MAXLEN * 0.2));
    counter.textContent = near ? L.remaining.replace("{n}", left) : "";
    // announce only a few steps near the limit, not every keystroke
    var step = left <= 0 ? 0 : left <= 20 ? 20 : left <= 100 ? 100 : null;
    if (step !== null && step !== lastStep) {
      announcer.textContent = L.remaining.replace("{n}", left);
    }
    lastStep = step;
  }
  input.addEventListener("input", updateCounter);

  function start() {
    renderAll();
    if (state.open) open(false);
    if (pendingMsgs().length) pump();
    document.body.appendChild(host);
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);

  window.SpieWidget = { open: function () { open(true); }, close: close, restart: restart };
})();
