// The reply composer's SMS choice (sms/_send_by.html): how long the reply is as SMS.
// 160 characters fit one SMS, 153 each when several are joined; a character outside the GSM
// alphabet (an emoji, say) makes it 70 and 67.
(function () {
  "use strict";
  var GSM = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà^{}\\[~\]|€]*$/;

  function parts(text) {
    var gsm = GSM.test(text);
    var one = gsm ? 160 : 70, each = gsm ? 153 : 67;
    return text.length <= one ? 1 : Math.ceil(text.length / each);
  }

  function start() {
    var out = document.querySelector("[data-sms-count]");
    var body = document.getElementById("id_body");
    if (!out || !body) return;
    var signature = out.dataset.signature || "";
    function update() {
      // What goes out is the plain text (the HTML editor's words, not its markup) and the
      // SMS signature on a line of its own.
      var editable = document.querySelector("[data-editor-for=id_body] .editable");
      var text = (editable ? editable.innerText : body.value || "").trim();
      if (signature) text += "\n" + signature;
      out.textContent = out.dataset.template
        .replace("{chars}", String(text.length))
        .replace("{parts}", String(parts(text)));
    }
    // The HTML editor writes into the textarea as the agent types (app.js).
    body.addEventListener("input", update);
    document.addEventListener("input", function (event) {
      if (event.target.closest && event.target.closest("[data-editor-for=id_body]")) {
        setTimeout(update, 0);
      }
    });
    update();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
