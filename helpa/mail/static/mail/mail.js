// Received mail on the ticket page: remote images load only when the agent asks, and quoted
// history (<blockquote>) is folded behind a toggle. Nothing else of a mail is ever run.
(function () {
  "use strict";

  function isHttp(url) {
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch (e) {
      return false;
    }
  }

  function showRemoteImages(root) {
    root.querySelectorAll("img[data-remote-src]").forEach(function (img) {
      var url = img.getAttribute("data-remote-src");
      if (url && isHttp(url)) {
        img.setAttribute("referrerpolicy", "no-referrer");
        img.setAttribute("src", url);
      }
      img.removeAttribute("data-remote-src");
    });
  }

  function foldQuotes(root) {
    // Only the outermost quotes of a body: a nested quote folds with its parent.
    root.querySelectorAll(".body blockquote").forEach(function (quote) {
      if (quote.parentElement.closest("blockquote") || quote.dataset.folded) return;
      quote.dataset.folded = "1";
      quote.hidden = true;
      var toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "link small quote-toggle";
      toggle.textContent = "…";
      // The label comes translated from the page (mail/article_inbound.html).
      var labelled = document.querySelector("[data-quote-label]");
      toggle.title = labelled ? labelled.getAttribute("data-quote-label") : "Show quoted text";
      toggle.setAttribute("aria-label", toggle.title);
      toggle.setAttribute("aria-expanded", "false");
      toggle.addEventListener("click", function () {
        quote.hidden = !quote.hidden;
        toggle.setAttribute("aria-expanded", String(!quote.hidden));
      });
      quote.parentNode.insertBefore(toggle, quote);
    });
  }

  function init(root) {
    foldQuotes(root);
    root.querySelectorAll("[data-show-remote-images]").forEach(function (button) {
      if (button.dataset.bound) return;
      button.dataset.bound = "1";
      button.addEventListener("click", function () {
        var article = document.querySelector(button.getAttribute("data-show-remote-images"));
        if (article) showRemoteImages(article);
        button.hidden = true;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Thread parts replaced by htmx get the same treatment.
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();
