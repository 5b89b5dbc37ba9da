/* Canned responses in the reply composer: a list under the editor (two clicks), and "::" typed
 * in the text followed by a few letters of a name, which opens a short list at the editor —
 * arrows to move, Enter or a click to insert (the "::name" is replaced), Escape to close.
 * The responses come filled in for this ticket from the server (one request, on first use).
 */
(function () {
  "use strict";

  var TRIGGER = /::([^\s:][^:\n]{0,40})?$/;

  function setup(picker) {
    var sourceId = picker.dataset.cannedFor;
    var source = document.getElementById(sourceId);
    var list = picker.querySelector(".canned-results");
    var suggest = document.querySelector(".canned-suggest");
    var editor = document.querySelector('.editor[data-editor-for="' + sourceId + '"] .editable');
    var loaded = null;
    var active = -1;
    var typed = null; // what "::name" to replace: a Range (editor) or [start, end] (textarea)

    function load() {
      if (!loaded) {
        loaded = fetch(picker.dataset.cannedUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) {
            if (!response.ok) throw new Error(response.status);
            return response.json();
          })
          .then(function (data) { return data.responses || []; })
          .catch(function (error) { loaded = null; throw error; });
      }
      return loaded;
    }

    function matching(responses, query) {
      query = (query || "").toLowerCase();
      return responses.filter(function (r) {
        return !query || r.name.toLowerCase().indexOf(query) !== -1;
      }).sort(function (a, b) {
        return (a.name.toLowerCase().indexOf(query) !== 0) - (b.name.toLowerCase().indexOf(query) !== 0);
      });
    }

    function insert(response, replace) {
      window.helpaInsertIntoEditor(sourceId, response.html, response.text, replace);
      picker.open = false;
      closeSuggest();
    }

    function item(response, onPick) {
      var li = document.createElement("li");
      li.setAttribute("data-testid", "canned-item");
      li.setAttribute("role", "option");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = response.name + (response.queue ? " (" + response.queue + ")" : "");
      button.title = response.text.slice(0, 200);
      // mousedown: pick before the editor loses its caret to the click.
      button.addEventListener("mousedown", function (event) { event.preventDefault(); onPick(); });
      button.addEventListener("click", function (event) { event.preventDefault(); onPick(); });
      li.appendChild(button);
      return li;
    }

    function showList(items) {
      list.textContent = "";
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "muted small";
        none.textContent = list.dataset.labelNone;
        list.appendChild(none);
      }
      items.forEach(function (r) { list.appendChild(item(r, function () { insert(r); })); });
    }

    picker.addEventListener("toggle", function () {
      if (!picker.open) return;
      load().then(function (responses) { showList(matching(responses, "")); }, function () {
        list.textContent = list.dataset.labelFailed;
      });
    });

    // --- The "::" shortcut ------------------------------------------------------------------
    function closeSuggest() {
      suggest.hidden = true;
      suggest.textContent = "";
      active = -1;
      typed = null;
    }

    function highlight(index) {
      var options = suggest.querySelectorAll("li");
      if (!options.length) return;
      active = (index + options.length) % options.length;
      options.forEach(function (li, i) { li.setAttribute("aria-selected", i === active ? "true" : "false"); });
    }

    function trigger() {
      // The text just before the caret, in the editor or the textarea.
      if (editor && editor.offsetParent !== null) {
        var selection = window.getSelection();
        if (!selection.rangeCount || !selection.isCollapsed) return null;
        var node = selection.anchorNode, offset = selection.anchorOffset;
        if (!node || node.nodeType !== Node.TEXT_NODE || !editor.contains(node)) return null;
        var match = TRIGGER.exec(node.textContent.slice(0, offset));
        if (!match) return null;
        var range = document.createRange();
        range.setStart(node, offset - match[0].length);
        range.setEnd(node, offset);
        return { query: match[1] || "", replace: range, anchor: editor };
      }
      var end = source.selectionStart;
      var found = TRIGGER.exec(source.value.slice(0, end));
      if (!found) return null;
      return { query: found[1] || "", replace: [end - found[0].length, end], anchor: source };
    }

    function onInput() {
      var found = trigger();
      if (!found) { closeSuggest(); return; }
      load().then(function (responses) {
        var items = matching(responses, found.query).slice(0, 8);
        suggest.textContent = "";
        if (!items.length) { closeSuggest(); return; }
        typed = found.replace;
        items.forEach(function (r) {
          var li = item(r, function () { insert(r, typed); });
          li.response = r;
          suggest.appendChild(li);
        });
        found.anchor.insertAdjacentElement("afterend", suggest);
        suggest.hidden = false;
        highlight(0);
      }, closeSuggest);
    }

    function onKey(event) {
      if (suggest.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" || event.key === "Tab") {
        var chosen = suggest.querySelectorAll("li")[active];
        if (chosen && chosen.response) {
          event.preventDefault();
          insert(chosen.response, typed);
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        closeSuggest();
      }
    }

    [editor, source].forEach(function (field) {
      if (!field) return;
      field.addEventListener("input", onInput);
      field.addEventListener("keydown", onKey);
      field.addEventListener("blur", function () { setTimeout(closeSuggest, 150); });
    });
  }

  // A template's solution, shown beside the ticket: "Insert into the reply".
  function setupSolutions() {
    document.querySelectorAll("[data-insert-solution]").forEach(function (button) {
      button.addEventListener("click", function () {
        var solution = button.parentElement.querySelector(".template-solution");
        window.helpaInsertIntoEditor(button.dataset.insertFor, solution.innerHTML, solution.innerText + "\n");
      });
    });
  }

  function ready() {
    document.querySelectorAll(".canned-picker[data-canned-url]").forEach(setup);
    setupSolutions();
  }
  if (document.readyState !== "loading") ready(); else document.addEventListener("DOMContentLoaded", ready);
})();
