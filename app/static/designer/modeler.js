// The modeler page: bpmn-js Modeler (UMD build) with our moddle extension, zh-CN labels, our properties
// panel, live lint, the dry run, and saving drafts / deploying through the JSON API.
(function (D) {
  "use strict";
  var boot = JSON.parse(document.getElementById("designer-boot").textContent);
  var statusLine = document.getElementById("status");
  var state = { draft: boot.draft, base: boot.base_version, latest: boot.latest_version, forms: boot.forms || {},
                dirty: false, busy: false };

  function say(text, bad) {
    statusLine.textContent = text;
    statusLine.className = "status" + (bad ? " status-bad" : text ? " status-good" : "");
    statusLine.setAttribute("role", bad ? "alert" : "status");
  }

  function describe() {
    var text = state.draft ? "草稿 #" + state.draft.id + "（基于" + (state.base ? "第 " + state.base + " 版" : "空白流程") + "）"
                           : state.base ? "第 " + state.base + " 版" + (state.base === state.latest ? "（当前）" : "") : "新流程（未保存）";
    document.getElementById("doc-state").textContent = text + (state.dirty ? " · 有未保存的修改" : "");
    document.getElementById("btn-discard").hidden = !state.draft;
    var url = boot.urls.modeler + (state.draft ? "?draft=" + state.draft.id : state.base ? "?version=" + state.base : "");
    if (window.location.pathname + window.location.search !== url && (state.draft || state.base)) {
      window.history.replaceState(null, "", url);
    }
  }

  fetch(boot.urls.moddle, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (tb) {
    var modeler = new BpmnJS({ container: "#canvas", keyboard: { bind: true },
                               additionalModules: [D.translateModule], moddleExtensions: { tb: tb } });
    D.modeler = modeler;  // for the browser tests and the console
    var ctx = { boot: boot, forms: function () { return state.forms; } };
    ctx.edits = new D.Edits(modeler);
    ctx.taskRefs = new D.TaskRefs(modeler, ctx.edits);  // deleting a user task takes it out of notice and clocks
    ctx.openForm = function (key) { openForm(modeler, key); };
    ctx.lint = new D.Lint(modeler, ctx);
    ctx.panel = new D.Panel(document.getElementById("panel"), modeler, ctx);
    ctx.dryrun = new D.DryRun(modeler, ctx);
    wire(modeler, ctx);
    return modeler.importXML(boot.bpmn).then(function (result) {
      var canvas = modeler.get("canvas");
      canvas.zoom("fit-viewport", "auto");
      canvas.scroll({ dx: 70, dy: 0 });  // keep the first elements clear of the palette
      var svg = document.querySelector("#canvas svg");
      if (svg) { svg.setAttribute("tabindex", "0"); svg.setAttribute("aria-label", "流程图（Ctrl+Z 撤销，Delete 删除所选元素）"); }
      if (result.warnings && result.warnings.length) { say("流程图中有 " + result.warnings.length + " 处无法识别的内容，已忽略", true); }
      describe();
      document.body.dataset.modelerReady = "true";
      return ctx.lint.run();
    });
  }).catch(function (error) {
    say("流程图无法打开：" + (error && error.message ? error.message : error), true);
  });

  function wire(modeler, ctx) {
    var stack = modeler.get("commandStack");
    var undo = document.getElementById("btn-undo"), redo = document.getElementById("btn-redo");
    modeler.on("commandStack.changed", function (event) {
      undo.disabled = !stack.canUndo();
      redo.disabled = !stack.canRedo();
      if (event.trigger === "clear") { return; }  // a fresh import, not an edit
      state.dirty = true;
      describe();
    });
    undo.addEventListener("click", function () { stack.undo(); });
    redo.addEventListener("click", function () { stack.redo(); });
    document.getElementById("btn-save").addEventListener("click", function () {
      save(modeler).then(function (ok) { if (ok) { say("草稿已保存（第 " + state.draft.revision + " 次保存），未部署"); } });
    });
    var deploy = document.getElementById("btn-deploy");
    if (deploy) { deploy.addEventListener("click", function () { deployDraft(modeler, ctx, false); }); }
    document.getElementById("btn-download").addEventListener("click", function () {
      modeler.saveXML({ format: true }).then(function (saved) {
        var link = D.h("a", { href: URL.createObjectURL(new Blob([saved.xml], { type: "application/xml" })),
                              download: boot.process_key + ".bpmn" });
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
    });
    document.getElementById("btn-discard").addEventListener("click", function () { discard(); });
    var picker = document.getElementById("open-version");
    if (picker) {
      picker.addEventListener("change", function () {
        if (picker.value) { window.location.href = boot.urls.modeler + "?version=" + picker.value; }
      });
    }
    tabs();
    window.addEventListener("beforeunload", function (event) {
      if (state.dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  }

  // Save the diagram as a draft: create one the first time, then update it at its revision.
  function save(modeler) {
    if (state.busy) { return Promise.resolve(false); }
    state.busy = true;
    say("正在保存草稿…");
    return modeler.saveXML({ format: true }).then(function (saved) {
      if (!state.draft) {
        return D.request("POST", boot.urls.drafts, { process_key: boot.process_key, bpmn: saved.xml,
                                                     forms: state.forms, base_version: state.base });
      }
      return D.request("PUT", boot.urls.drafts + "/" + state.draft.id, { revision: state.draft.revision, bpmn: saved.xml });
    }).then(function (result) {
      state.busy = false;
      if (!result.ok) { say(D.failure(result, "保存草稿"), true); return false; }
      state.draft = { id: result.body.id, revision: result.body.revision };
      state.dirty = false;
      describe();
      return true;
    });
  }

  function deployDraft(modeler, ctx, force) {
    var ready = state.draft && !state.dirty ? Promise.resolve(true) : save(modeler);
    return ready.then(function (ok) {
      if (!ok) { return; }
      say("正在检查并部署…");
      return D.request("POST", boot.urls.drafts + "/" + state.draft.id + "/deploy",
                       { revision: state.draft.revision, force: force }).then(function (result) {
        var body = result.body || {};
        if (result.ok) {
          state.draft = null;
          if (body.status === "created") { addVersion(body.version); }
          state.base = state.latest = body.version;
          state.dirty = false;
          describe();
          say(body.message + (body.warnings && body.warnings.length ? "；另有 " + body.warnings.length + " 个警告" : ""));
          return;
        }
        if (body.code === "DRAFT_STALE" && window.confirm(body.message + "\n\n仍要用本草稿部署吗？")) {
          return deployDraft(modeler, ctx, true);
        }
        if (body.details && body.details.findings) { ctx.lint.show(body.details.findings); }
        say(D.failure(result, "部署"), true);
      });
    });
  }

  function addVersion(version) {
    var picker = document.getElementById("open-version");
    if (!picker) { return; }
    Array.prototype.forEach.call(picker.options, function (o) { o.textContent = o.textContent.replace("（当前）", ""); });
    picker.options[0].textContent = "打开其他版本…";
    picker.insertBefore(D.h("option", { value: version, text: "第 " + version + " 版（当前）" }), picker.options[1]);
  }

  function discard() {
    if (!state.draft || !window.confirm("删除草稿 #" + state.draft.id + "？已部署的版本不受影响。")) { return; }
    D.request("DELETE", boot.urls.drafts + "/" + state.draft.id).then(function (result) {
      if (!result.ok) { say(D.failure(result, "删除草稿"), true); return; }
      state.dirty = false;
      window.location.href = boot.urls.modeler + (state.base ? "?version=" + state.base : "");
    });
  }

  // The form editor is its own page: save the draft first, so nothing is lost and the editor can add to it.
  function openForm(modeler, key) {
    var ready = state.draft && !state.dirty ? Promise.resolve(true) : save(modeler);
    ready.then(function (ok) {
      if (ok) { window.location.href = boot.urls.form_editor.replace("__FORM__", encodeURIComponent(key)) + "?draft=" + state.draft.id; }
    });
  }

  function tabs() {
    var buttons = [document.getElementById("tab-props"), document.getElementById("tab-dryrun")];
    function pick(index) {
      buttons.forEach(function (b, i) {
        b.setAttribute("aria-selected", String(i === index));
        b.tabIndex = i === index ? 0 : -1;
        document.getElementById(b.getAttribute("aria-controls")).hidden = i !== index;
      });
      buttons[index].focus();
    }
    buttons.forEach(function (b, i) {
      b.addEventListener("click", function () { pick(i); });
      b.addEventListener("keydown", function (e) {
        if (e.key === "ArrowRight" || e.key === "ArrowLeft") { pick((i + 1) % 2); e.preventDefault(); }
      });
    });
  }
})(window.TongbanDesigner);
