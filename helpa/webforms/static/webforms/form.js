// The contact form inside another site's frame: files over the limit are caught before the
// upload (the server checks again), a second click does not send twice, and the host page
// may grow the frame with the form (it hears the height; see the embed snippet).
(function () {
  "use strict";
  var form = document.querySelector("form[data-testid=contact-form]");

  function tooLarge(input, max) {
    var names = [];
    Array.prototype.forEach.call(input.files || [], function (file) {
      if (file.size > max) names.push(file.name);
    });
    return names;
  }

  if (form) {
    var max = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    var fileInput = form.querySelector("input[type=file]");
    var fileErrors = form.querySelector(".file-errors");
    function checkFiles() {
      if (!max || !fileInput || !fileErrors) return true;
      var names = tooLarge(fileInput, max);
      fileErrors.hidden = names.length === 0;
      fileErrors.textContent = names.length
        ? fileErrors.getAttribute("data-too-large") + " " + names.join(", ")
        : "";
      return names.length === 0;
    }
    if (fileInput) fileInput.addEventListener("change", checkFiles);
    form.addEventListener("submit", function (event) {
      if (!checkFiles()) {
        event.preventDefault();
        fileInput.focus();
        return;
      }
      var button = form.querySelector("button[type=submit]");
      if (button) {
        // After the submit has started, so the button's own click still counts.
        setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  }

  if (window.parent !== window && window.parent.postMessage) {
    // The body's own height, not the document's: that is at least the frame's height, and
    // the frame would only ever grow.
    var report = function () {
      var height = Math.ceil(document.body.getBoundingClientRect().height);
      window.parent.postMessage({ helpaFormHeight: height }, "*");
    };
    window.addEventListener("load", report);
    if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
  }
})();
