// The form page: the form-js editor (UMD build) on one form; save it into the draft it was opened from, or
// deploy it through the ordinary deploy path (POST /api/v1/definitions with a <key>.form file).
(function (D) {
  "use strict";
  var boot = JSON.parse(document.getElementById("form-boot").textContent);
  var statusLine = document.getElementById("status");
  var state = { draft: boot.draft, dirty: false };

  function say(text, bad) {
    statusLine.textContent = text;
    statusLine.className = "status" + (bad ? " status-bad" : " status-good");
    statusLine.setAttribute("role", bad ? "alert" : "status");
  }

  var container = document.getElementById("form-editor");
  D.translateForms(container);
  var editor = new FormEditor.FormEditor({ container: container });
  D.formEditor = editor;  // for the browser tests and the console

  // The form's id is its key: whatever the editor's own panel says, it is written back as the page's key.
  function schema() {
    var out = editor.saveSchema();
    out.id = boot.form_id;
    return out;
  }

  editor.importSchema(boot.schema).then(function () {
    editor.on("changed", function () { state.dirty = true; });
    document.body.dataset.formReady = "true";
  }).catch(function (error) {
    say("表单无法打开：" + (error && error.message ? error.message : error), true);
  });

  var save = document.getElementById("btn-form-save");
  if (save) {
    save.addEventListener("click", function () {
      var forms = {};
      forms[boot.form_id] = schema();
      D.request("PUT", boot.urls.drafts + "/" + state.draft.id, { revision: state.draft.revision, forms: forms })
        .then(function (result) {
          if (!result.ok) { say(D.failure(result, "保存到草稿"), true); return; }
          state.draft.revision = result.body.revision;
          state.dirty = false;
          say("表单已保存到草稿 #" + state.draft.id + "；部署该草稿时一同部署");
        });
    });
  }

  var deploy = document.getElementById("btn-form-deploy");
  if (deploy) {
    deploy.addEventListener("click", function () {
      var data = new FormData();
      data.append("files", new Blob([JSON.stringify(schema(), null, 2)], { type: "application/json" }),
                  boot.form_id + ".form");
      D.request("POST", boot.urls.definitions, data).then(function (result) {
        if (!result.ok) {
          var findings = result.body && result.body.details && result.body.details.findings;
          say(D.failure(result, "部署表单") + (findings && findings.length > 1 ? "（共 " + findings.length + " 处）" : ""), true);
          return;
        }
        var line = (result.body || []).filter(function (l) { return l.kind === "form"; })[0];
        state.dirty = false;
        say(line.status === "created"
          ? "表单已部署为第 " + line.version + " 版；使用它的流程需重新部署后，新办件才用新版表单"
          : "与已部署的第 " + line.version + " 版相同，未产生新版本");
      });
    });
  }

  document.getElementById("btn-form-download").addEventListener("click", function () {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([JSON.stringify(schema(), null, 2)], { type: "application/json" }));
    link.download = boot.form_id + ".form";
    document.body.appendChild(link);
    link.click();
    link.remove();
  });

  window.addEventListener("beforeunload", function (event) {
    if (state.dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})(window.TongbanDesigner);
