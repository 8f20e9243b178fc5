// Our properties panel: plain DOM over the modeler's API. It shows the selected element (or the process)
// and writes every change through modeling commands (see commands.js). Fields commit on "change" (leaving
// the field or pressing Enter); the panel redraws after each command and puts the focus back.
(function (D) {
  "use strict";

  var TYPE_ZH = {
    "bpmn:Process": "流程", "bpmn:Collaboration": "协作图", "bpmn:Participant": "泳池", "bpmn:Lane": "泳道",
    "bpmn:UserTask": "用户任务", "bpmn:ServiceTask": "服务任务", "bpmn:ScriptTask": "脚本任务", "bpmn:Task": "任务",
    "bpmn:SendTask": "发送任务", "bpmn:ReceiveTask": "接收任务", "bpmn:ManualTask": "手工任务",
    "bpmn:BusinessRuleTask": "业务规则任务", "bpmn:CallActivity": "调用活动", "bpmn:SubProcess": "子流程",
    "bpmn:Transaction": "事务", "bpmn:StartEvent": "开始事件", "bpmn:EndEvent": "结束事件",
    "bpmn:IntermediateCatchEvent": "中间接收事件", "bpmn:IntermediateThrowEvent": "中间抛出事件",
    "bpmn:BoundaryEvent": "边界事件", "bpmn:ExclusiveGateway": "排他网关", "bpmn:ParallelGateway": "并行网关",
    "bpmn:InclusiveGateway": "包容网关", "bpmn:EventBasedGateway": "事件网关", "bpmn:ComplexGateway": "复杂网关",
    "bpmn:SequenceFlow": "顺序流", "bpmn:MessageFlow": "消息流", "bpmn:TextAnnotation": "注释",
    "bpmn:Association": "关联", "bpmn:Group": "分组", "bpmn:DataObjectReference": "数据对象",
    "bpmn:DataStoreReference": "数据存储"
  };
  var ID = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
  var uid = 0;

  // h("input", {id: "x", onchange: fn}, child...) -> element; strings become text nodes.
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) { return; }
      if (key.slice(0, 2) === "on") { el.addEventListener(key.slice(2), value); }
      else if (key === "text") { el.textContent = value; }
      else if (key === "className") { el.className = value; }
      else if (key === "value") { el.value = value; }
      else if (key === "field") { el.dataset.field = value; }
      else { el.setAttribute(key, value === true ? "" : value); }
    });
    (function append(children) {
      children.forEach(function (child) {
        if (child === null || child === undefined || child === false) { return; }
        if (Array.isArray(child)) { append(child); return; }
        el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      });
    })(Array.prototype.slice.call(arguments, 2));
    return el;
  }

  // A labelled field: {label, hint, error, field: control}; the control gets an id and aria-describedby.
  function field(label, control, hint, error) {
    var id = control.id || ("tbf-" + (++uid));
    control.id = id;
    var hintId = hint ? id + "-hint" : null;
    var errorId = error ? id + "-err" : null;
    var described = [hintId, errorId].filter(Boolean).join(" ");
    if (described) { control.setAttribute("aria-describedby", described); }
    if (error) { control.setAttribute("aria-invalid", "true"); }
    return h("div", { className: "field" + (error ? " has-error" : "") },
      h("label", { "for": id, text: label }), control,
      error ? h("p", { className: "field-error", id: errorId, text: error }) : null,
      hint ? h("p", { className: "hint", id: hintId }, hint) : null);
  }

  function select(options, value, attrs) {
    var el = h("select", attrs || {});
    options.forEach(function (opt) {
      var o = h("option", { value: opt[0], text: opt[1] });
      if (String(opt[0]) === String(value === undefined || value === null ? "" : value)) { o.selected = true; }
      el.appendChild(o);
    });
    return el;
  }

  function section(title) {
    var children = Array.prototype.slice.call(arguments, 1);
    return h("fieldset", { className: "group" }, h("legend", { text: title }), children);
  }

  function Panel(container, modeler, ctx) {
    this.container = container;
    this.modeler = modeler;
    this.ctx = ctx;
    this.edits = ctx.edits;
    this.element = null;
    this.errors = {};
    var self = this;
    modeler.on("selection.changed", function (event) {
      self.errors = {};
      self.show(event.newSelection.length === 1 ? event.newSelection[0] : null);
    });
    modeler.on("commandStack.changed", function () { self.schedule(); });
    modeler.on("import.done", function () { self.show(null); });
  }

  Panel.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    // After the browser has moved focus to the next field, so it can be restored there.
    this.timer = setTimeout(function () { self.show(self.element, true); }, 0);
  };

  Panel.prototype.show = function (element, keepFocus) {
    var registry = this.modeler.get("elementRegistry");
    if (element && element.type === "label") { element = element.labelTarget; }
    if (element && !registry.get(element.id)) { element = null; }  // deleted meanwhile
    this.element = element;
    var active = document.activeElement;
    var focused = keepFocus && this.container.contains(active) ? active.dataset.field : null;
    this.container.textContent = "";
    this.container.appendChild(this.render(element || this.modeler.get("canvas").getRootElement()));
    if (focused) {
      var again = this.container.querySelector('[data-field="' + focused + '"]');
      if (again) { again.focus(); }
    }
  };

  Panel.prototype.render = function (element) {
    var bo = element.businessObject;
    if (!bo) { return h("p", { className: "hint", text: "流程图加载中…" }); }
    var process = D.processOf(element);
    var heading = h("h2", { className: "panel-title" }, (TYPE_ZH[bo.$type] || bo.$type) + (bo.name ? "：" + bo.name : ""));
    var parts = [heading];
    if (element.type === "bpmn:Process" || element.type === "bpmn:Participant" ||
        element.type === "bpmn:Collaboration") {
      parts.push(this.general(element, bo, element.type !== "bpmn:Participant"));
      if (process) { parts = parts.concat(D.sections.process(this, element, process)); }
    } else {
      parts.push(this.general(element, bo, false));
      parts = parts.concat(D.sections.forElement(this, element, bo));
    }
    return h("div", {}, parts);
  };

  Panel.prototype.general = function (element, bo, readonlyId) {
    var self = this;
    var idInput = h("input", { value: bo.id, field: "id", readonly: readonlyId, autocomplete: "off",
      onchange: function (e) { self.changeId(element, e.target.value.trim()); } });
    var hint = readonlyId ? "流程标识即流程键，由新建流程时确定" : "字母或下划线开头；部署后请勿修改，进行中的办件按 id 找到所在环节";
    var nameInput = h("textarea", { rows: 2, field: "name", onchange: function (e) {
      self.edits.run([self.edits.shapeProps(element, { name: e.target.value.trim() || undefined })]);
    } });
    nameInput.value = bo.name || "";
    return section("基本信息", field("ID", idInput, hint, this.errors.id), field("名称", nameInput));
  };

  Panel.prototype.changeId = function (element, id) {
    var registry = this.modeler.get("elementRegistry");
    var bo = element.businessObject;
    this.errors.id = null;
    if (id === bo.id) { this.show(element); return; }
    if (!ID.test(id)) { this.errors.id = "ID 须以字母或下划线开头，只含字母、数字、_ . -"; }
    else if (registry.get(id) || this.modeler.get("moddle").ids.assigned(id)) { this.errors.id = "ID " + id + " 已被其他元素使用"; }
    if (this.errors.id) { this.show(element, true); return; }
    // What names the element by id (the process's notice and clocks, its tasks' separateFrom) follows, in the
    // same command: one undo restores both.
    var process = D.processOf(element);
    this.edits.run([this.edits.shapeProps(element, { id: id })]
      .concat(process ? D.renameTask(this.edits, element, process, bo.id, id) : []));
  };

  // The bpmn:Process an element belongs to (the root's, or a participant's processRef).
  D.processOf = function (element) {
    var bo = element.businessObject;
    if (bo.$instanceOf("bpmn:Process")) { return bo; }
    if (bo.$instanceOf("bpmn:Participant")) { return bo.processRef || null; }
    var parent = bo.$parent;
    while (parent && !parent.$instanceOf("bpmn:Process")) { parent = parent.$parent; }
    return parent || null;
  };

  D.h = h;
  D.field = field;
  D.select = select;
  D.section = section;
  D.Panel = Panel;
  D.TYPE_ZH = TYPE_ZH;
})(window.TongbanDesigner);
