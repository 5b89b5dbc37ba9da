/* Knowledge-base suggestions while a customer types a new request's title.
 *
 * Attach it to any form (the portal's new request, an embedded contact form) with a target
 * element that names the title input by id; templates do it with
 *   {% include "kb/_suggest.html" with input_id="id_title" %}
 * which renders:
 *   <div class="kb-suggest" hidden
 *        data-kb-suggest-for="id_title"            the input to watch (by id)
 *        data-kb-suggest-url="/kb/suggest/"        JSON: ?q=&lang=&visit= → {visit, results}
 *        data-kb-ticket-url="/kb/suggest/ticket/"  told (sendBeacon) when the form is submitted
 *        data-kb-lang="sv">                        the reader's language (sv or en)
 *     <ul></ul>
 *   </div>
 *   <script src="/static/kb/suggest.js" defer></script>
 *
 * While the customer types (debounced, 3+ characters) the script asks for matching published
 * public articles and lists them under the title; each opens in a new tab with the visit token,
 * where the customer can say "This solved my problem". The token is kept for the tab
 * (sessionStorage) and put into the form as a hidden `kb_visit` field. Submitting the form tells
 * the server that this visit ended in a ticket after all, so it is never counted as a
 * deflection. No framework, no CDN; titles are inserted as text, never as HTML.
 *
 * A page with a Content-Security-Policy needs `script-src 'self'`, `style-src 'self'` (kb.css)
 * and `connect-src 'self'` (the suggestion request and the beacon). Anonymous visitors (contact
 * forms) get suggestions only while the admin lets the knowledge base be read without login.
 * A form in another language than the page's may pass `kb_language` to the include.
 */
(function () {
  "use strict";
  var DELAY = 300;
  var MIN_CHARS = 3;
  var STORE = "helpa.kb.visit";

  function storedVisit() {
    try { return sessionStorage.getItem(STORE) || ""; } catch (e) { return ""; }
  }
  function storeVisit(token) {
    try { sessionStorage.setItem(STORE, token); } catch (e) { /* private mode: keep in memory */ }
  }

  function attach(box) {
    var input = document.getElementById(box.dataset.kbSuggestFor);
    if (!input || box.dataset.kbReady) return;
    box.dataset.kbReady = "1";
    var list = box.querySelector("ul");
    var form = input.form;
    var visit = storedVisit();
    var timer = null;
    var lastQuery = null;
    var controller = null;

    // Show the list right under the title: after the input's label when it wraps the input.
    var anchor = input.closest("label") || input;
    if (anchor.parentNode && anchor.nextElementSibling !== box) anchor.insertAdjacentElement("afterend", box);
    input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + (box.id || (box.id = "kb-suggest-" + Math.random().toString(36).slice(2)))).trim());

    var hidden = null;
    function remember(token) {
      visit = token;
      storeVisit(token);
      if (!form) return;
      if (!hidden) {
        hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "kb_visit";
        form.appendChild(hidden);
      }
      hidden.value = token;
    }

    function show(results) {
      list.textContent = "";
      results.forEach(function (item) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = item.url;
        a.target = "_blank";
        a.rel = "noopener";
        a.textContent = item.title;
        a.setAttribute("data-testid", "kb-suggestion");
        li.appendChild(a);
        if (item.excerpt) {
          var p = document.createElement("span");
          p.className = "muted small";
          p.textContent = item.excerpt;
          li.appendChild(p);
        }
        list.appendChild(li);
      });
      box.hidden = results.length === 0;
    }

    function ask() {
      var query = input.value.trim();
      if (query === lastQuery) return;
      lastQuery = query;
      if (query.length < MIN_CHARS) { show([]); return; }
      if (controller) controller.abort();
      controller = typeof AbortController !== "undefined" ? new AbortController() : null;
      var url = box.dataset.kbSuggestUrl + "?" + new URLSearchParams({ q: query, lang: box.dataset.kbLang || "", visit: visit });
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: controller && controller.signal })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) {
          if (data.visit) remember(data.visit);
          if (input.value.trim() === query) show(data.results || []);
        })
        .catch(function () { /* aborted by newer typing, or offline: no suggestions */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });
    if (form) {
      form.addEventListener("submit", function (event) {
        if (!visit || !box.dataset.kbTicketUrl) return;
        // After every other submit handler has run: a submit another script cancelled (a
        // file over the limit, say) sends no request, so it must not count as a ticket.
        setTimeout(function () {
          if (event.defaultPrevented) return;
          var data = new FormData();
          data.append("visit", visit);
          if (navigator.sendBeacon) navigator.sendBeacon(box.dataset.kbTicketUrl, data);
          else fetch(box.dataset.kbTicketUrl, { method: "POST", body: data, keepalive: true, credentials: "same-origin" });
        }, 0);
      });
    }
    if (input.value.trim().length >= MIN_CHARS) ask();
  }

  function ready() { document.querySelectorAll("[data-kb-suggest-for]").forEach(attach); }
  if (document.readyState !== "loading") ready(); else document.addEventListener("DOMContentLoaded", ready);
})();
