// Draw the case's BPMN diagram with bpmn-js NavigatedViewer and outline the current elements.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || typeof BpmnJS === "undefined") { return; }
  var viewer = new BpmnJS({ container: box, keyboard: { bind: true } });
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
      // The canvas takes keyboard focus itself (Ctrl + arrows pan); name it for screen readers.
      var svg = box.querySelector("svg");
      if (svg) {
        svg.setAttribute("tabindex", "0");
        svg.setAttribute("aria-label", box.getAttribute("aria-label"));
      }
      current.forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "tb-current"); }
      });
      // Pages that draw more on the diagram (the history's path) take the viewer from here.
      box.tbViewer = viewer;
      box.dispatchEvent(new CustomEvent("tb:diagram-ready", { detail: viewer }));
    })
    .catch(function () {
      box.textContent = "流程图加载失败，请刷新页面重试。";
      box.classList.add("diagram-failed");
    });
})();
