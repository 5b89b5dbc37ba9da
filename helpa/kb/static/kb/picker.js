/* "Insert KB article" in the agent's reply composer: search published articles, then insert
 * one's public link or its text into the reply editor (the HTML editor of helpa/app.js, or the
 * plain textarea). Internal articles offer their text only: a customer cannot open their link.
 */
(function () {
  "use strict";

  var insertIntoEditor = window.helpaInsertIntoEditor;  // helpa/app.js

  function escapeHtml(value) {
    var div = document.createElement("div");
    div.textContent = value;
    return div.innerHTML;
  }

  function setup(picker) {
    var input = picker.querySelector("input[type=search]");
    var list = picker.querySelector(".kb-pick-results");
    var timer = null;

    function insert(id, language, mode) {
      fetch(picker.dataset.kbPickUrl + id + "/?" + new URLSearchParams({ lang: language }), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (article) {
          if (!article.url) return;
          if (mode === "link") {
            insertIntoEditor(picker.dataset.kbPickFor,
              '<a href="' + escapeHtml(article.url) + '">' + escapeHtml(article.title) + "</a>&nbsp;",
              article.title + ": " + article.url + "\n");
          } else {
            insertIntoEditor(picker.dataset.kbPickFor, article.html, article.text + "\n");
          }
          picker.open = false;
        });
    }

    function button(label, onClick) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "button small";
      b.textContent = label;
      b.addEventListener("click", onClick);
      return b;
    }

    function show(results) {
      list.textContent = "";
      if (!results.length) {
        var none = document.createElement("li");
        none.className = "muted small";
        none.textContent = list.dataset.labelNone;
        list.appendChild(none);
        return;
      }
      results.forEach(function (article) {
        article.texts.forEach(function (text) {
          var li = document.createElement("li");
          li.setAttribute("data-testid", "kb-pick-result");
          var title = document.createElement("span");
          title.className = "kb-pick-title";
          title.textContent = text.title + " (" + text.language.toUpperCase() + ")";
          li.appendChild(title);
          if (!article.public) {
            var tag = document.createElement("span");
            tag.className = "tag";
            tag.textContent = list.dataset.labelInternal;
            li.appendChild(tag);
          } else {
            li.appendChild(button(list.dataset.labelLink, function () { insert(article.id, text.language, "link"); }));
          }
          li.appendChild(button(list.dataset.labelText, function () { insert(article.id, text.language, "text"); }));
          list.appendChild(li);
        });
      });
    }

    function search() {
      var query = input.value.trim();
      if (!query) { list.textContent = ""; return; }
      fetch(picker.dataset.kbPickUrl + "?" + new URLSearchParams({ q: query }), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) { if (input.value.trim() === query) show(data.results || []); });
    }

    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 250); });
    // Enter searches at once and never submits the reply.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); clearTimeout(timer); search(); }
    });
  }

  function ready() { document.querySelectorAll(".kb-picker[data-kb-pick-url]").forEach(setup); }
  if (document.readyState !== "loading") ready(); else document.addEventListener("DOMContentLoaded", ready);
})();
