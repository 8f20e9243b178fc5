// Live lint and the dry run: both send the current XML to the API and draw their answer on the canvas.
(function (D) {
  "use strict";
  var h = D.h;

  function Lint(modeler, ctx) {
    this.modeler = modeler;
    this.ctx = ctx;
    this.list = document.getElementById("lint-list");
    this.summary = document.getElementById("lint-summary");
    this.seq = 0;
    var self = this;
    modeler.on("commandStack.changed", function () { self.schedule(); });
  }

  Lint.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    this.summary.textContent = "修改后自动检查…";
    this.timer = setTimeout(function () { self.run(); }, 700);
  };

  Lint.prototype.run = function () {
    var self = this, seq = ++this.seq, ctx = this.ctx;
    return this.modeler.saveXML({ format: true }).then(function (saved) {
      var data = new FormData();
      data.append("files", new Blob([saved.xml], { type: "application/xml" }), ctx.boot.process_key + ".bpmn");
      var forms = ctx.forms();
      Object.keys(forms).forEach(function (key) {
        data.append("files", new Blob([JSON.stringify(forms[key])], { type: "application/json" }), key + ".form");
      });
      return D.request("POST", ctx.boot.urls.lint, data);
    }).then(function (result) {
      if (seq !== self.seq) { return; }  // a newer edit is being checked
      if (!result.ok) { self.summary.textContent = D.failure(result, "检查"); return; }
      self.show(result.body.findings);
    });
  };

  Lint.prototype.show = function (findings) {
    var self = this;
    var registry = this.modeler.get("elementRegistry");
    var canvas = this.modeler.get("canvas");
    var overlays = this.modeler.get("overlays");
    // By element, not by id: an id may have been renamed since the markers were set.
    clearMarkers(this.modeler, ["tb-lint-error", "tb-lint-warning"]);
    overlays.remove({ type: "tb-lint" });
    // A process-level finding names the process: its pool carries the marker (see D.elementFor).
    var elements = findings.map(function (f) { return D.elementFor(registry, f.element_id); });
    if (this.focused && elements.indexOf(this.focused) < 0) {
      clearMarkers(this.modeler, ["tb-lint-focus"]);
      this.focused = null;
    }
    this.findings = findings;
    var errors = findings.filter(function (f) { return f.severity === "error"; }).length;
    var warnings = findings.length - errors;
    this.summary.textContent = findings.length ? errors + " 个错误，" + warnings + " 个警告" : "没有发现问题";
    this.summary.className = errors ? "sub lint-bad" : "sub lint-good";
    this.list.textContent = "";
    findings.forEach(function (finding, index) {
      var element = elements[index];
      var label = finding.severity === "error" ? "错误" : "警告";
      var where = element ? (element.businessObject.name || element.id) : (finding.element_id || "");
      var content = [h("span", { className: "sev sev-" + finding.severity, text: label }), " ",
        h("span", { className: "msg", text: finding.message }), " ",
        h("span", { className: "code", text: finding.code + (where ? " · " + where : "") })];
      var item = element ? h("button", { type: "button", className: "finding", onclick: function () { self.focus(element); } }, content)
                         : h("div", { className: "finding" }, content);
      self.list.appendChild(h("li", {}, item));
      if (element && element.id !== canvas.getRootElement().id) {
        var marker = "tb-lint-" + (finding.severity === "error" ? "error" : "warning");
        canvas.addMarker(element, marker);
        if (element.waypoints === undefined) {
          overlays.add(element.id, "tb-lint", { position: { top: -10, right: 10 },
            html: '<span class="tb-lint-badge tb-badge-' + finding.severity + '" title="' +
                  finding.message.replace(/[&<>"]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }) + '">!</span>' });
        }
      }
    });
    if (this.ctx.onLint) { this.ctx.onLint(errors, warnings); }
  };

  Lint.prototype.focus = function (element) {
    var canvas = this.modeler.get("canvas");
    this.modeler.get("selection").select(element);
    canvas.scrollToElement(element, { top: 80, bottom: 80, left: 80, right: 80 });
    clearMarkers(this.modeler, ["tb-lint-focus"]);
    canvas.addMarker(element, "tb-lint-focus");
    this.focused = element;
  };

  // --- dry run ------------------------------------------------------------------------------------------------
  function DryRun(modeler, ctx) {
    this.modeler = modeler;
    this.ctx = ctx;
    this.result = document.getElementById("dryrun-result");
    var self = this;
    document.getElementById("btn-dryrun").addEventListener("click", function () { self.run(); });
    document.getElementById("btn-dryrun-clear").addEventListener("click", function () { self.clear(); });
  }

  DryRun.prototype.clear = function () {
    clearMarkers(this.modeler, ["tb-path"]);
    this.modeler.get("overlays").remove({ type: "tb-path" });
  };

  function clearMarkers(modeler, classes) {
    var canvas = modeler.get("canvas");
    modeler.get("elementRegistry").forEach(function (element) {
      classes.forEach(function (cls) { if (canvas.hasMarker(element, cls)) { canvas.removeMarker(element, cls); } });
    });
  }

  DryRun.prototype.run = function () {
    var self = this, ctx = this.ctx;
    var scenario = document.getElementById("dryrun-scenario").value;
    this.result.textContent = "运行中…";
    return this.modeler.saveXML({ format: true }).then(function (saved) {
      return D.request("POST", ctx.boot.urls.dryrun, { bpmn: saved.xml, forms: ctx.forms(), scenario: scenario });
    }).then(function (result) {
      self.clear();
      if (!result.ok || !result.body || typeof result.body.ok !== "boolean") {
        self.result.textContent = "";
        var text = result.status === 404 && (!result.body || result.body.code === "NOT_FOUND")
          ? "试运行不可用：服务器没有提供试运行接口（POST " + ctx.boot.urls.dryrun + " 返回 404）"
          : D.failure(result, "试运行");
        self.result.appendChild(h("p", { className: "error-box", role: "alert", text: text }));
        return;
      }
      self.show(result.body);
    });
  };

  DryRun.prototype.show = function (body) {
    var self = this, registry = this.modeler.get("elementRegistry");
    var canvas = this.modeler.get("canvas"), overlays = this.modeler.get("overlays");
    var path = body.path || {};
    Object.keys(path).forEach(function (id) {
      if (!registry.get(id) || !path[id]) { return; }
      canvas.addMarker(id, "tb-path");
      if (registry.get(id).waypoints === undefined) {
        overlays.add(id, "tb-path", { position: { top: -10, left: -10 },
          html: '<span class="tb-path-count" title="经过 ' + Number(path[id]) + ' 次">×' + Number(path[id]) + "</span>" });
      }
    });
    var steps = (body.steps || []).map(function (s) {
      return h("li", { className: s.ok ? "step-ok" : "step-bad" }, h("span", { className: "sev", text: s.ok ? "通过" : "失败" }),
               " 第 " + s.index + " 步：" + s.message);
    });
    var clocks = { legal: "法定时限", committed: "承诺时限", task: "环节时限" };
    var deadlines = (body.deadlines || []).map(function (d) {
      if (typeof d !== "object" || d === null) { return h("li", { text: String(d) }); }
      var element = D.elementFor(registry, d.element);
      var who = element ? (element.businessObject.name || d.element) : d.element || "办件";
      return h("li", { text: who + " · " + (clocks[d.clock] || d.clock || "期限") + "：" + (d.due || "—") +
                             (d.step !== undefined ? "（第 " + d.step + " 步时）" : "") });
    });
    function problems(list) {
      return (list || []).map(function (e) {
        var element = D.elementFor(registry, e.element);
        var text = e.message + "（" + e.code + (e.element ? " · " + e.element : "") + "）";
        return h("li", {}, element ? h("button", { type: "button", className: "finding", text: text,
          onclick: function () { self.ctx.lint.focus(element); } }) : text);
      });
    }
    var errors = problems(body.errors), warnings = problems(body.warnings);
    this.result.textContent = "";
    this.result.appendChild(h("div", {},
      h("p", { className: body.ok ? "flash" : "flash-error", role: body.ok ? "status" : "alert",
               text: body.ok ? "场景运行通过" : "场景未通过" }),
      steps.length ? h("h3", { text: "步骤" }) : null, steps.length ? h("ul", { className: "steps" }, steps) : null,
      errors.length ? h("h3", { text: "错误" }) : null, errors.length ? h("ul", { className: "findings" }, errors) : null,
      warnings.length ? h("h3", { text: "警告" }) : null, warnings.length ? h("ul", { className: "findings" }, warnings) : null,
      deadlines.length ? h("h3", { text: "计算出的期限" }) : null, deadlines.length ? h("ul", {}, deadlines) : null,
      Object.keys(path).length ? h("p", { className: "hint", text: "走过的元素已在流程图上标出，数字为经过次数。" }) : null));
  };

  D.Lint = Lint;
  D.DryRun = DryRun;
})(window.TongbanDesigner);
