// The history page: colour the path taken on the diagram, badge loops with their count, and follow the
// event the auditor selects (its element outlined, its row marked) when htmx swaps in the state panel.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box) { return; }
  var path = JSON.parse(box.dataset.path || "{}");
  var selected = [];

  function viewer() { return box.tbViewer || null; }

  function select(ids) {
    var v = viewer();
    if (!v) { box.dataset.selected = ids.join(","); return; }
    var canvas = v.get("canvas"), registry = v.get("elementRegistry");
    selected.forEach(function (id) { if (registry.get(id)) { canvas.removeMarker(id, "tb-selected"); } });
    selected = ids.filter(function (id) { return registry.get(id); });
    selected.forEach(function (id) { canvas.addMarker(id, "tb-selected"); });
  }

  function drawPath(v) {
    var canvas = v.get("canvas"), registry = v.get("elementRegistry"), overlays = v.get("overlays");
    Object.keys(path).forEach(function (id) {
      if (!registry.get(id)) { return; }
      canvas.addMarker(id, "tb-path");
      if (path[id] > 1) {
        var badge = document.createElement("span");
        badge.className = "tb-count";
        badge.textContent = "×" + path[id];
        badge.title = "进入 " + path[id] + " 次";
        overlays.add(id, "tb-count", { position: { top: -12, right: 14 }, html: badge });
      }
    });
    select((box.dataset.selected || "").split(",").filter(Boolean));
  }

  if (box.tbViewer) { drawPath(box.tbViewer); }
  box.addEventListener("tb:diagram-ready", function (event) { drawPath(event.detail); });

  function markRow(seq) {
    document.querySelectorAll("table.events tr.selected").forEach(function (row) {
      row.classList.remove("selected");
      row.removeAttribute("aria-current");
    });
    var row = document.getElementById("event-" + seq);
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-current", "true");
    }
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "state") { return; }
    var state = event.detail.target.querySelector(".state");
    if (!state) { return; }
    markRow(state.dataset.seq);
    var row = document.getElementById("event-" + state.dataset.seq);
    // An event without its own element (流程流转) outlines the elements it passed.
    var ids = (state.dataset.elements || (row && row.dataset.elements) || "").split(",").filter(Boolean);
    select(ids);
  });
})();
