// Draw the case's BPMN diagram with bpmn-js NavigatedViewer and outline the current elements.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || typeof BpmnJS === "undefined") { return; }
  var viewer = new BpmnJS({ container: box, keyboard: { bindTo: box } });
  var current = (box.dataset.highlight || "").split(",").filter(Boolean);
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport", "auto");
      current.forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "tb-current"); }
      });
    })
    .catch(function () {
      box.textContent = "流程图加载失败，请刷新页面重试。";
      box.classList.add("diagram-failed");
    });
})();
