/* Helpa's small page scripts. Everything works without them; they make it pleasant. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // --- Inserting into a reply editor (KB picker, canned responses, a template's solution). ----
  // `sourceId`: the textarea the form posts. With the HTML editor showing, `html` goes in at the
  // caret (or the end); else `text` goes into the textarea. `replace`: a Range (editor) or a
  // [start, end] pair (textarea) to replace instead, e.g. the "::name" the agent typed.
  window.helpaInsertIntoEditor = function (sourceId, html, text, replace) {
    var source = document.getElementById(sourceId);
    if (!source) return;
    var editor = document.querySelector('.editor[data-editor-for="' + sourceId + '"] .editable');
    if (editor && editor.offsetParent !== null) {
      editor.focus();
      var selection = window.getSelection();
      if (replace && replace.setStart) {
        selection.removeAllRanges();
        selection.addRange(replace);
      } else if (!selection.rangeCount || !editor.contains(selection.anchorNode)) {
        var range = document.createRange();
        range.selectNodeContents(editor);
        range.collapse(false);
        selection.removeAllRanges();
        selection.addRange(range);
      }
      document.execCommand("insertHTML", false, html);
      editor.dispatchEvent(new Event("input", { bubbles: true }));
      return;
    }
    var start = replace && replace.length ? replace[0] : (source.selectionStart || source.value.length);
    var end = replace && replace.length ? replace[1] : (source.selectionEnd || start);
    source.value = source.value.slice(0, start) + text + source.value.slice(end);
    source.selectionStart = source.selectionEnd = start + text.length;
    source.dispatchEvent(new Event("input", { bubbles: true }));
    source.focus();
  };

  // --- Tabs on the ticket page: one panel at a time, remembered in the URL hash. -------------
  function setupTabs() {
    var tabs = document.querySelectorAll(".tabs [data-tab]");
    if (!tabs.length) return;
    function show(name) {
      var found = false;
      tabs.forEach(function (tab) {
        var on = tab.dataset.tab === name;
        found = found || on;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        var panel = document.getElementById(tab.dataset.tab);
        if (panel) panel.hidden = !on;
      });
      if (!found) show("conversation");
      var kind = { notes: "note", discussion: "discussion", conversation: "reply" }[name];
      if (kind) setComposerKind(kind);
    }
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        history.replaceState(null, "", "#" + tab.dataset.tab);
        show(tab.dataset.tab);
      });
    });
    var initial = (location.hash || "#conversation").slice(1);
    var composer = document.getElementById("composer");
    if (composer && composer.dataset.activeKind && !location.hash) {
      initial = { note: "notes", discussion: "discussion" }[composer.dataset.activeKind] || "conversation";
    }
    show(initial);
  }

  // --- Composer: reply / internal note / discussion share one form. -------------------------
  function setComposerKind(kind) {
    var composer = document.getElementById("composer");
    if (!composer) return;
    composer.querySelector("input[name=kind]").value = kind;
    composer.dataset.kind = kind;
    composer.querySelectorAll("[data-kind]").forEach(function (button) {
      button.setAttribute("aria-selected", button.dataset.kind === kind ? "true" : "false");
    });
    var submit = composer.querySelector("button[type=submit]");
    submit.textContent = submit.dataset["label" + kind.charAt(0).toUpperCase() + kind.slice(1)];
  }
  function setupComposer() {
    var composer = document.getElementById("composer");
    if (!composer) return;
    composer.querySelectorAll("[data-kind]").forEach(function (button) {
      button.addEventListener("click", function () { setComposerKind(button.dataset.kind); });
    });
    setComposerKind(composer.dataset.activeKind || "reply");
  }

  // --- A small HTML editor (no CDN, no build): contenteditable kept in sync with a textarea. -
  function setupEditors() {
    document.querySelectorAll(".editor[data-editor-for]").forEach(function (editor) {
      var source = document.getElementById(editor.dataset.editorFor);
      var area = editor.querySelector(".editable");
      if (!source || !area) return;
      var pasted = {}; // object URL shown in the editor -> cid: name of the attached file
      area.innerHTML = source.value;
      function sync() {
        var html = area.innerHTML;
        Object.keys(pasted).forEach(function (url) { html = html.split(url).join("cid:" + pasted[url]); });
        source.value = area.textContent.trim() || html.indexOf("<img") >= 0 ? html : "";
      }
      area.addEventListener("input", sync);
      source.form.addEventListener("submit", sync);
      editor.querySelectorAll("[data-cmd]").forEach(function (button) {
        button.addEventListener("click", function () {
          var cmd = button.dataset.cmd;
          var value = null;
          if (cmd === "createLink") { value = prompt("URL", "https://"); if (!value) return; }
          area.focus();
          document.execCommand(cmd, false, value);
          sync();
        });
      });
      // Pasted images become attachments of the same post, referenced as cid:<name>.
      area.addEventListener("paste", function (event) {
        var items = (event.clipboardData && event.clipboardData.files) || [];
        var fileInput = source.form.querySelector("input[type=file][name=attachments]");
        if (!items.length || !fileInput || typeof DataTransfer === "undefined") return;
        var images = Array.prototype.filter.call(items, function (f) { return f.type.indexOf("image/") === 0; });
        if (!images.length) return;
        event.preventDefault();
        var transfer = new DataTransfer();
        Array.prototype.forEach.call(fileInput.files, function (f) { transfer.items.add(f); });
        images.forEach(function (image, index) {
          var name = "pasted-" + Date.now() + "-" + index + "." + (image.type.split("/")[1] || "png");
          var file = new File([image], name, { type: image.type });
          transfer.items.add(file);
          var url = URL.createObjectURL(file);
          pasted[url] = name;
          document.execCommand("insertImage", false, url);
        });
        fileInput.files = transfer.files;
        fileInput.dispatchEvent(new Event("change"));
        sync();
      });
    });
  }

  // --- Files: refuse empty and oversize files at once, keep the good ones and the text. -----
  function setupFileChecks() {
    document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      input.addEventListener("change", function () {
        var max = parseInt(input.dataset.maxBytes, 10);
        var errors = [];
        var keep = typeof DataTransfer !== "undefined" ? new DataTransfer() : null;
        Array.prototype.forEach.call(input.files, function (file) {
          if (file.size === 0) errors.push("“" + file.name + "” " + input.dataset.empty);
          else if (file.size > max) errors.push("“" + file.name + "” " + input.dataset.tooLarge);
          else if (keep) keep.items.add(file);
        });
        if (errors.length && keep) input.files = keep.files;
        var box = input.form.querySelector(".file-errors");
        if (box) box.textContent = errors.join(" ");
      });
    });
  }

  // --- Presence: tell colleagues when this agent is typing. --------------------------------
  function setupTyping() {
    var timer = null;
    window.helpaTyping = false;
    document.addEventListener("input", function (event) {
      if (!event.target.closest("#composer, #fields-form")) return;
      window.helpaTyping = true;
      clearTimeout(timer);
      timer = setTimeout(function () { window.helpaTyping = false; }, 8000);
    });
  }

  // --- "On hold until" only matters for the On hold status. ---------------------------------
  function setupHoldUntil() {
    document.querySelectorAll("select[name=status]").forEach(function (select) {
      var holders = select.form ? select.form.querySelectorAll(".hold-until") : [];
      if (!holders.length) return;
      function toggle() {
        holders.forEach(function (holder) { holder.hidden = select.value !== "on_hold"; });
      }
      select.addEventListener("change", toggle);
      toggle();
    });
  }

  // --- Overview rows: long choice lists (owners, types) arrive once, in a <template>. -------
  function fillQuickSelects(root) {
    root.querySelectorAll("select[data-options]").forEach(function (select) {
      var source = document.getElementById("options-" + select.dataset.options);
      if (!source || select.dataset.filled) return;
      var current = select.value;
      select.innerHTML = source.innerHTML;
      select.value = current;
      select.dataset.filled = "1";
    });
  }

  ready(function () {
    fillQuickSelects(document);
    document.body.addEventListener("htmx:afterSwap", function () { fillQuickSelects(document); });
    setupComposer();
    setupTabs();
    setupEditors();
    setupFileChecks();
    setupTyping();
    setupHoldUntil();
  });
})();
