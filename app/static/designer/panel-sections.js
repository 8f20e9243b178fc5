// The properties panel's sections for our BPMN extensions (namespace tb, see tb-moddle.json): candidates,
// form, task deadline, timers with calendar functions, messages, flow conditions, the process's clocks and its
// one-time 补正 notice tasks.
(function (D) {
  "use strict";
  var h = D.h, field = D.field, select = D.select, section = D.section;

  var ROLE_ZH = { window_clerk: "窗口人员", reviewer: "审查人员", department_head: "部门负责人", supervisor: "电子监察",
    designer: "流程设计", auditor: "审计", admin: "管理员" };
  var CANDIDATE = /^[a-z][a-z0-9_]{0,39}(@(\$\{[A-Za-z][A-Za-z0-9_]{0,63}\}|[A-Za-z0-9_][A-Za-z0-9_-]{0,39})(\/(\$\{[A-Za-z][A-Za-z0-9_]{0,63}\}|[A-Za-z0-9_][A-Za-z0-9_-]{0,39}))?)?$/;
  var ISO = /^(R\d*\/)?P(\d+[YMWD])*(T(\d+[HMS])+)?$/;
  var UNITS = [["workdays", "工作日"], ["days", "自然日"], ["hours", "小时"]];
  var CLOCKS = [["task", "本环节时限"], ["legal", "计入法定时限"], ["committed", "计入承诺时限"]];

  function split(value) {
    return (value || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function is(bo, type) { return bo.$instanceOf(type); }

  function eventDefinition(bo, type) {
    return (bo.eventDefinitions || []).filter(function (d) { return d.$instanceOf(type); })[0] || null;
  }

  // --- candidates (tb:assignment, camunda:candidateGroups/candidateUsers as aliases) --------------------------
  function candidates(panel, element, bo) {
    var edits = panel.edits, boot = panel.ctx.boot;
    var assignment = D.extension(bo, "tb:Assignment");
    var attrs = bo.$attrs || {};
    var groups = assignment ? assignment.candidateGroups || "" : attrs["camunda:candidateGroups"] || "";
    var users = assignment ? assignment.candidateUsers || "" : attrs["camunda:candidateUsers"] || "";
    var alias = !assignment && (attrs["camunda:candidateGroups"] || attrs["camunda:candidateUsers"]);

    // Clearing both candidates removes the tb:assignment, unless it says more (a separateFrom, say): then only
    // the candidates go.
    function write(newGroups, newUsers) {
      var more = assignment && (assignment.separateFrom || Object.keys(assignment.$attrs || {}).length);
      var value = newGroups || newUsers || more ? { candidateGroups: newGroups, candidateUsers: newUsers } : null;
      edits.run(edits.extension(element, bo, "tb:Assignment", assignment, value)
        .concat(edits.dropAliases(element, bo, ["camunda:candidateGroups", "camunda:candidateUsers"])));
    }
    var bad = split(groups).filter(function (g) { return !CANDIDATE.test(g); });
    var groupsInput = h("input", { value: groups, field: "candidateGroups", autocomplete: "off", spellcheck: "false",
      onchange: function (e) { write(split(e.target.value).join(", "), split(users).join(", ")); } });
    var usersInput = h("input", { value: users, field: "candidateUsers", autocomplete: "off",
      onchange: function (e) { write(split(groups).join(", "), split(e.target.value).join(", ")); } });

    var role = select(boot.roles.slice(0, 4).map(function (r) { return [r, ROLE_ZH[r] || r]; }), "reviewer",
                      { field: "cand-role" });
    var district = select([["", "不限区县"], ["${owning}", "业务属地（${owning}）"], ["${receiving}", "收件地（${receiving}）"],
                          ["${deciding}", "决定地（${deciding}，就地批办时为收件地）"]]
      .concat(boot.districts.map(function (d) { return [d.code, d.name + "（" + d.code + "）"]; })), "${owning}",
      { field: "cand-district" });
    var department = select([["", "不限部门"]].concat(boot.departments.map(function (d) {
      return [d.code, d.name + "（" + d.code + "）"]; })), "", { field: "cand-department" });
    var add = h("button", { type: "button", field: "cand-add", text: "添加候选组", onclick: function () {
      var expr = role.value + (district.value ? "@" + district.value + (department.value ? "/" + department.value : "") : "");
      var list = split(groups);
      if (list.indexOf(expr) < 0) { list.push(expr); }
      write(list.join(", "), split(users).join(", "));
    } });
    var lane = element.type === "bpmn:UserTask" && !groups && !users ? laneOf(element) : null;
    return section("办理人",
      field("候选组", groupsInput, "多个用逗号分隔；写作 角色@区县/部门，区县和部门可写代码或 ${owning}（业务属地）、" +
            "${receiving}（收件地）、${变量}", bad.length ? "格式不正确：" + bad.join("、") : null),
      h("div", { className: "builder", role: "group", "aria-label": "按角色、区县和部门添加候选组" },
        field("角色", role), field("区县", district), field("部门", department), add),
      field("候选用户", usersInput, "用户名，多个用逗号分隔"),
      alias ? h("p", { className: "hint" }, "读取自 Camunda 属性 camunda:candidateGroups；修改后写为 tb:assignment") : null,
      lane ? h("p", { className: "hint" }, "未指定时使用所在泳道“" + (lane.name || lane.id) + "”的办理人") : null);
  }

  function laneOf(element) {
    var lanes = element.businessObject.lanes || [];
    return lanes.filter(function (l) { return D.extension(l, "tb:Assignment"); })[0] || null;
  }

  // --- form (tb:form; camunda:formKey/formRef as aliases) ---------------------------------------------------
  function form(panel, element, bo) {
    var edits = panel.edits, ctx = panel.ctx;
    var tbForm = D.extension(bo, "tb:Form");
    var attrs = bo.$attrs || {};
    var aliasKey = (attrs["camunda:formRef"] || attrs["camunda:formKey"] || "").replace(/^camunda-forms:bpmn:/, "");
    var key = tbForm ? tbForm.key || "" : aliasKey;
    function write(value) {
      edits.run(edits.extension(element, bo, "tb:Form", tbForm, value ? { key: value } : null)
        .concat(edits.dropAliases(element, bo, ["camunda:formKey", "camunda:formRef"])));
    }
    var deployed = ctx.boot.deployed_forms, drafted = ctx.forms();
    var keys = Object.keys(deployed).concat(Object.keys(drafted)).filter(function (k, i, all) {
      return all.indexOf(k) === i; }).sort();
    if (key && keys.indexOf(key) < 0) { keys.unshift(key); }
    var options = [["", "（无表单）"]].concat(keys.map(function (k) {
      var label = drafted[k] ? k + "（草稿中已修改）" : deployed[k] ? k + "（第 " + deployed[k] + " 版）" : k + "（不存在）";
      return [k, label];
    }));
    var chooser = select(options, key, { field: "form", onchange: function (e) { write(e.target.value); } });
    var newKey = h("input", { field: "form-new", autocomplete: "off", placeholder: "新表单标识，如 fire_check" });
    return section("表单",
      field("办理表单", chooser, aliasKey && !tbForm ? "读取自 camunda:formKey；修改后写为 tb:form" : null),
      h("div", { className: "actions" },
        key ? h("button", { type: "button", text: "编辑表单", onclick: function () { ctx.openForm(key); } }) : null),
      h("div", { className: "builder" }, field("新建表单", newKey),
        h("button", { type: "button", text: "新建并编辑", onclick: function () {
          var value = newKey.value.trim();
          if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/.test(value)) { newKey.setCustomValidity("标识须以字母或下划线开头"); newKey.reportValidity(); return; }
          write(value);
          ctx.openForm(value);
        } })));
  }

  // --- task deadline (tb:deadline; camunda:dueDate P<n>D / PT<n>H as alias) ---------------------------------
  function deadline(panel, element, bo) {
    var edits = panel.edits;
    var el = D.extension(bo, "tb:Deadline");
    var due = (bo.$attrs || {})["camunda:dueDate"] || "";
    var unit = "workdays", amount = "", clock = "task";
    if (el) {
      UNITS.forEach(function (u) { if (el[u[0]]) { unit = u[0]; amount = el[u[0]]; } });
      clock = el.clock || "task";
    } else if (/^P(\d+)D$/.test(due)) { unit = "days"; amount = due.match(/\d+/)[0]; }
    else if (/^PT(\d+)H$/.test(due)) { unit = "hours"; amount = due.match(/\d+/)[0]; }
    var amountInput = h("input", { type: "number", min: 1, max: 3650, value: amount, field: "deadline-amount",
                                   inputmode: "numeric" });
    var unitSelect = select(UNITS, unit, { field: "deadline-unit" });
    var clockSelect = select(CLOCKS, clock, { field: "deadline-clock" });
    function write() {
      var value = null;
      if (amountInput.value.trim()) {
        value = { workdays: undefined, days: undefined, hours: undefined, clock: clockSelect.value === "task" ? undefined : clockSelect.value };
        value[unitSelect.value] = amountInput.value.trim();
      }
      edits.run(edits.extension(element, bo, "tb:Deadline", el, value).concat(edits.dropAliases(element, bo, ["camunda:dueDate"])));
    }
    [amountInput, unitSelect, clockSelect].forEach(function (c) { c.addEventListener("change", write); });
    return section("办理时限",
      h("div", { className: "row" }, field("期限", amountInput), field("单位", unitSelect)),
      field("时钟", clockSelect, "工作日按法定节假日和调休计算；留空表示本环节不设时限"),
      due && !el ? h("p", { className: "hint" }, "读取自 camunda:dueDate = " + due + "；修改后写为 tb:deadline") : null);
  }

  // --- timers: an expression, calendar functions allowed ---------------------------------------------------
  var TIMER_KINDS = [["timeDate", "指定时刻"], ["timeDuration", "等待时长"], ["timeCycle", "循环周期"]];
  var TIMER_EXAMPLES = [
    ["受理后 5 个工作日", "timeDate", "workdays_after(accepted_on(), 5)"],
    ["法定时限剩 2 个工作日时", "timeDate", "workdays_before(legal_due(), 2)"],
    ["承诺时限到期时", "timeDate", "committed_due()"],
    ["2 小时后", "timeDuration", "\"PT2H\""]
  ];

  function timer(panel, element, definition) {
    var edits = panel.edits;
    var kind = TIMER_KINDS.filter(function (k) { return definition[k[0]]; }).map(function (k) { return k[0]; })[0] || "timeDate";
    var body = definition[kind] ? definition[kind].body || "" : "";
    var kindSelect = select(TIMER_KINDS, kind, { field: "timer-kind" });
    var text = h("textarea", { rows: 2, field: "timer-expr", spellcheck: "false" });
    text.value = body;
    function write(newKind, newBody) {
      var props = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      props[newKind] = edits.expression(newBody);
      edits.run([edits.props(element, definition, props)]);
    }
    kindSelect.addEventListener("change", function () { write(kindSelect.value, text.value.trim()); });
    text.addEventListener("change", function () { write(kindSelect.value, text.value.trim()); });
    var warning = ISO.test(body.trim()) && body.trim() ? "ISO 值须加引号，例如 \"" + body.trim() + "\"" : null;
    return section("定时器",
      field("类型", kindSelect),
      field("表达式", text, h("span", {},
        "可用日历函数：workdays_after(开始, n) n 个工作日后；days_after(开始, n)；workdays_before(时刻, n) 剩 n 个工作日时；" +
        "legal_due()、committed_due() 法定/承诺时限到期；accepted_on() 受理日；case_received_on() 收件日；is_workday(日期)。" +
        "ISO 时长或时刻须加引号，如 \"PT2H\"。"), warning),
      h("div", { className: "examples", role: "group", "aria-label": "示例" }, TIMER_EXAMPLES.map(function (ex) {
        return h("button", { type: "button", className: "small", text: ex[0], onclick: function () { write(ex[1], ex[2]); } });
      })));
  }

  // --- messages: pick one of the diagram's messages by name, or create one ---------------------------------
  function message(panel, element, holder) {
    var edits = panel.edits;
    var definitions = panel.modeler.getDefinitions();
    var messages = (definitions.rootElements || []).filter(function (e) { return e.$instanceOf("bpmn:Message"); });
    var current = holder.messageRef;
    var chooser = select([["", "（未选择）"]].concat(messages.map(function (m) { return [m.id, m.name || m.id]; })),
      current ? current.id : "", { field: "message", onchange: function (e) {
        var found = messages.filter(function (m) { return m.id === e.target.value; })[0];
        edits.run([edits.props(element, holder, { messageRef: found || undefined })]);
      } });
    var rename = current ? h("input", { value: current.name || "", field: "message-name", onchange: function (e) {
      edits.run([edits.props(element, current, { name: e.target.value.trim() || undefined })]);
    } }) : null;
    var fresh = h("input", { field: "message-new", autocomplete: "off", placeholder: "例如 handoff_received" });
    return section("消息",
      field("消息", chooser, "同名消息的发送方和接收方相互对应；检查会指出没有对应方的消息"),
      rename ? field("消息名称（修改会影响所有使用它的元素）", rename) : null,
      h("div", { className: "builder" }, field("新建消息", fresh), h("button", { type: "button", text: "新建并选用",
        onclick: function () {
          var name = fresh.value.trim();
          if (!name) { return; }
          var made = edits.newMessage(element, name);
          edits.run(made[0].concat([edits.props(element, holder, { messageRef: made[1] })]));
        } })));
  }

  // --- sequence flow leaving an exclusive or inclusive gateway: condition and default -----------------------
  function condition(panel, element, bo) {
    var edits = panel.edits;
    var source = bo.sourceRef;
    var isDefault = source.default === bo;
    var text = h("textarea", { rows: 2, field: "condition", spellcheck: "false", disabled: isDefault });
    text.value = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
    text.addEventListener("change", function () {
      edits.run([edits.shapeProps(element, { conditionExpression: edits.expression(text.value.trim()) })]);
    });
    var box = h("input", { type: "checkbox", field: "default", checked: isDefault, onchange: function (e) {
      var gateway = panel.modeler.get("elementRegistry").get(source.id);
      edits.run([edits.shapeProps(gateway, { "default": e.target.checked ? bo : undefined }),
                 e.target.checked ? edits.shapeProps(element, { conditionExpression: undefined }) : null]);
    } });
    return section("条件",
      field("条件表达式", text, "例如 decision == \"accept\"；只能使用办件数据和日历函数"),
      h("div", { className: "field" }, h("label", {}, box, " 默认路径（其他条件都不成立时走这里）")));
  }

  // --- process: tb:clock declarations ---------------------------------------------------------------------
  function clocks(panel, element, process) {
    var edits = panel.edits;
    var list = D.extensions(process, "tb:Clock");
    var tasks = D.userTasks(process).map(function (t) { return t.id; });
    var datalist = h("datalist", { id: "tb-user-tasks" }, tasks.map(function (id) { return h("option", { value: id }); }));
    var rows = list.map(function (clock, index) {
      function input(name, label, hint, attrs) {
        var el = h("input", Object.assign({ value: clock[name] || "", field: "clock-" + index + "-" + name, autocomplete: "off",
          onchange: function (e) { var p = {}; p[name] = e.target.value.trim(); edits.run(edits.extension(element, process, "tb:Clock", clock, p)); } },
          attrs || {}));
        return field(label, el, hint);
      }
      var unit = clock.days ? "days" : "workdays";
      var amount = clock[unit] || "";
      var kind = select([["legal", "法定时限"], ["committed", "承诺时限"]], clock.kind, { field: "clock-" + index + "-kind",
        onchange: function (e) { edits.run(edits.extension(element, process, "tb:Clock", clock, { kind: e.target.value })); } });
      var amountInput = h("input", { type: "number", min: 0, max: 3650, value: amount, field: "clock-" + index + "-amount" });
      var unitSelect = select([["workdays", "工作日"], ["days", "自然日"]], unit, { field: "clock-" + index + "-unit" });
      function writeAmount() {
        var p = { workdays: undefined, days: undefined };
        p[unitSelect.value] = amountInput.value.trim();
        edits.run(edits.extension(element, process, "tb:Clock", clock, p));
      }
      amountInput.addEventListener("change", writeAmount);
      unitSelect.addEventListener("change", writeAmount);
      return h("div", { className: "clock", role: "group", "aria-label": "时限 " + (index + 1) },
        h("div", { className: "row" }, field("类型", kind), field("期限", amountInput), field("单位", unitSelect)),
        input("startsAt", "起算环节", "完成这些用户任务（受理）时开始计时，空格分隔；留空则收件即起算", { list: "tb-user-tasks" }),
        input("noticeAt", "一次性告知环节", "完成时视为一次性告知补正", { list: "tb-user-tasks" }),
        h("div", { className: "row" }, input("yellowDays", "黄灯：剩余工作日", null, { inputmode: "numeric" }),
          input("yellowRatio", "黄灯：剩余比例", null, { inputmode: "decimal" })),
        input("amountFrom", "期限取自变量", "受理时从办件数据读取期限（须同时设起算环节）"),
        input("when", "适用条件", "表达式，只对满足条件的办件生效，如 sub_type == \"mortgage\""),
        h("button", { type: "button", className: "small", text: "删除此时限", onclick: function () {
          edits.run(edits.extension(element, process, "tb:Clock", clock, null)); } }));
    });
    function add(kind) {
      return h("button", { type: "button", className: "small", text: "添加" + (kind === "legal" ? "法定" : "承诺") + "时限",
        onclick: function () { edits.run(edits.extension(element, process, "tb:Clock", null, { kind: kind, workdays: kind === "legal" ? "20" : "10" })); } });
    }
    return section("办件时限（tb:clock）", datalist, rows.length ? rows : h("p", { className: "hint", text: "本流程未声明法定或承诺时限" }),
      h("div", { className: "actions" }, add("legal"), add("committed")));
  }

  // --- process: tb:oneTimeNotice, the one-time 补正 notice tasks (given once per case; see task-refs.js) ---------
  function notice(panel, element, process) {
    var declared = D.extensions(process, "tb:OneTimeNotice");
    var chosen = D.noticeTasks(declared);
    var tasks = D.userTasks(process);
    var known = tasks.map(function (t) { return t.id; });
    var choices = tasks.map(function (t) { return [t.id, (t.name || t.id) + "（" + t.id + "）"]; })
      .concat(chosen.filter(function (id) { return known.indexOf(id) < 0; }).map(function (id) {
        return [id, id + "（不是本流程的用户任务，请取消勾选）"]; }));
    var hintId = "tb-notice-hint";
    var group = h("fieldset", { className: "field notice-tasks", "aria-describedby": hintId },
      h("legend", { text: "一次性告知环节" }));
    choices.forEach(function (choice) {
      group.appendChild(h("label", { className: "choice" }, h("input", { type: "checkbox", value: choice[0],
        field: "notice-" + choice[0], checked: chosen.indexOf(choice[0]) >= 0, onchange: function () {
          var ids = Array.prototype.filter.call(group.querySelectorAll("input[type=checkbox]"), function (box) {
            return box.checked; }).map(function (box) { return box.value; });
          panel.edits.run(D.writeNotice(panel.edits, element, process, declared, ids));
        } }), " " + choice[1]));
    });
    if (!choices.length) { group.appendChild(h("p", { className: "hint", text: "本流程还没有用户任务" })); }
    var clocked = D.extensions(process, "tb:Clock").length > 0;
    group.appendChild(h("p", { className: "hint", id: hintId },
      "一次性告知补正（《行政许可法》第三十二条第一款第四项）：这些环节中任一个办理完成后，本办件不能再办理其中任何环节，" +
      "也不能退回到这些环节（NOTICE_ALREADY_GIVEN）。全部不选则不作此限制。" +
      (clocked ? "已声明办件时限的流程也可在时限的“一次性告知环节”中填写，按计时周期计；此处按整个办件计。" : "")));
    return section("一次性告知（tb:oneTimeNotice）", group);
  }

  D.sections = {
    process: function (panel, element, process) { return [clocks(panel, element, process), notice(panel, element, process)]; },
    forElement: function (panel, element, bo) {
      var out = [];
      if (is(bo, "bpmn:UserTask")) {
        out.push(candidates(panel, element, bo), form(panel, element, bo), deadline(panel, element, bo));
      } else if (is(bo, "bpmn:Lane")) {
        out.push(candidates(panel, element, bo));
      } else if (is(bo, "bpmn:StartEvent") && !(bo.eventDefinitions || []).length) {
        out.push(form(panel, element, bo));
      }
      var timerDef = eventDefinition(bo, "bpmn:TimerEventDefinition");
      if (timerDef) { out.push(timer(panel, element, timerDef)); }
      var messageDef = eventDefinition(bo, "bpmn:MessageEventDefinition");
      if (messageDef) { out.push(message(panel, element, messageDef)); }
      if (is(bo, "bpmn:ReceiveTask") || is(bo, "bpmn:SendTask")) { out.push(message(panel, element, bo)); }
      if (is(bo, "bpmn:SequenceFlow") && bo.sourceRef &&
          (is(bo.sourceRef, "bpmn:ExclusiveGateway") || is(bo.sourceRef, "bpmn:InclusiveGateway"))) {
        out.push(condition(panel, element, bo));
      }
      return out;
    }
  };
})(window.TongbanDesigner);
