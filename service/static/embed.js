/*
 * Embed the ratecard cost calculator in any page:
 *
 *   <script src="https://ratecard.example/static/embed.js" data-models="gpt-4o,claude-sonnet-4-5" async></script>
 *
 * Inserts an iframe of /calculator?embed=1 right after this script tag, served by the
 * same ratecard as the script. Optional attributes: data-input-tokens, data-output-tokens,
 * data-requests, data-cache (percent), data-discount (percent), data-height (initial px),
 * data-title; data-view="plan" with data-batch, data-growth, data-months, data-spend opens the
 * Plan view. The frame grows to fit its content (it reports its height by postMessage).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return; // only runs as a classic <script src> tag
  var origin = new URL(script.src, location.href).origin;
  var options = {
    models: "models", inputTokens: "input_tokens", outputTokens: "output_tokens",
    requests: "requests", cache: "cache", discount: "discount",
    // The Plan view: data-view="plan" and its inputs.
    view: "view", batch: "batch", growth: "growth", months: "months", spend: "spend",
  };
  var query = new URLSearchParams();
  Object.keys(options).forEach(function (key) {
    var value = script.dataset[key];
    if (value) query.set(options[key], value);
  });
  query.set("embed", "1");

  var frame = document.createElement("iframe");
  frame.src = origin + "/calculator?" + query.toString().replace(/%2C/g, ",").replace(/%2F/g, "/");
  frame.title = script.dataset.title || "LLM API cost calculator";
  frame.loading = "lazy";
  frame.referrerPolicy = "strict-origin-when-cross-origin";
  frame.style.cssText = "display:block;width:100%;border:0;min-height:320px;height:" +
    (parseInt(script.dataset.height, 10) || 900) + "px;color-scheme:normal";
  script.parentNode.insertBefore(frame, script.nextSibling);

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (data && data.type === "ratecard:height" && typeof data.height === "number" && data.height > 0) {
      frame.style.height = Math.ceil(data.height) + "px";
    }
  });
})();
