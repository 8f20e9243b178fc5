// zh-CN for bpmn-js: palette, context pad, replace menu and the messages the modeler shows.
// Registered as the "translate" service (bpmn-js's own translate module, overridden), so every label
// bpmn-js passes through translate() comes out in Chinese; anything missing stays in English.
(function (global) {
  "use strict";

  var ZH = {
    // palette
    "Activate hand tool": "抓手：拖动画布",
    "Activate lasso tool": "套索：框选元素",
    "Activate create/remove space tool": "插入或删除空间",
    "Activate global connect tool": "连线工具",
    "Create start event": "添加开始事件",
    "Create intermediate/boundary event": "添加中间事件或边界事件",
    "Create end event": "添加结束事件",
    "Create gateway": "添加网关",
    "Create task": "添加任务",
    "Create data object reference": "添加数据对象",
    "Create data store reference": "添加数据存储",
    "Create expanded sub-process": "添加子流程",
    "Create pool/participant": "添加泳池（参与者）",
    "Create group": "添加分组",
    // context pad
    "Append end event": "追加结束事件",
    "Append gateway": "追加网关",
    "Append task": "追加任务",
    "Append intermediate/boundary event": "追加中间事件",
    "Append timer intermediate catch event": "追加定时器事件",
    "Append message intermediate catch event": "追加消息接收事件",
    "Append signal intermediate catch event": "追加信号接收事件",
    "Append conditional intermediate catch event": "追加条件事件",
    "Append receive task": "追加接收任务",
    "Append compensation activity": "追加补偿活动",
    "Add text annotation": "添加注释",
    "Change element": "更改类型",
    "Delete": "删除",
    "Connect to other element": "连接到其他元素",
    "Connect using association": "用关联连接",
    "Connect using data input association": "用数据输入关联连接",
    "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道",
    "Divide into two lanes": "拆分为两条泳道",
    "Divide into three lanes": "拆分为三条泳道",
    "Align elements": "对齐元素",
    "Distribute elements horizontally": "水平均匀分布",
    "Distribute elements vertically": "垂直均匀分布",
    "Search in diagram": "在流程图中搜索",
    "Open {element}": "打开 {element}",
    "Toggle non-interrupting": "切换非中断",
    "Loop": "循环",
    "Parallel multi-instance": "并行多实例",
    "Sequential multi-instance": "串行多实例",
    "Collection": "集合",
    "Participant multiplicity": "参与者多重性",
    // replace menu: tasks and activities
    "Task": "任务",
    "User task": "用户任务（人工办理）",
    "Service task": "服务任务",
    "Script task": "脚本任务",
    "Send task": "发送任务",
    "Receive task": "接收任务",
    "Manual task": "手工任务",
    "Business rule task": "业务规则任务",
    "Call activity": "调用活动",
    "Sub-process": "子流程",
    "Sub-process (collapsed)": "子流程（折叠）",
    "Sub-process (expanded)": "子流程（展开）",
    "Ad-hoc sub-process": "自由子流程",
    "Ad-hoc sub-process (collapsed)": "自由子流程（折叠）",
    "Ad-hoc sub-process (expanded)": "自由子流程（展开）",
    "Event sub-process": "事件子流程",
    "Transaction": "事务",
    // gateways
    "Exclusive gateway": "排他网关（择一）",
    "Parallel gateway": "并行网关（并联）",
    "Inclusive gateway": "包容网关",
    "Complex gateway": "复杂网关",
    "Event-based gateway": "事件网关",
    "Event based instantiating Gateway": "事件启动网关",
    "Parallel Event based instantiating Gateway": "并行事件启动网关",
    // events
    "Start event": "开始事件",
    "End event": "结束事件",
    "Intermediate throw event": "中间抛出事件",
    "Boundary event": "边界事件",
    "Message start event": "消息开始事件",
    "Message start event (non-interrupting)": "消息开始事件（非中断）",
    "Timer start event": "定时器开始事件",
    "Timer start event (non-interrupting)": "定时器开始事件（非中断）",
    "Conditional start event": "条件开始事件",
    "Conditional start event (non-interrupting)": "条件开始事件（非中断）",
    "Signal start event": "信号开始事件",
    "Signal start event (non-interrupting)": "信号开始事件（非中断）",
    "Error start event": "错误开始事件",
    "Escalation start event": "升级开始事件",
    "Escalation start event (non-interrupting)": "升级开始事件（非中断）",
    "Compensation start event": "补偿开始事件",
    "Message intermediate catch event": "消息接收事件",
    "Message intermediate throw event": "消息发送事件",
    "Timer intermediate catch event": "定时器事件",
    "Conditional intermediate catch event": "条件事件",
    "Signal intermediate catch event": "信号接收事件",
    "Signal intermediate throw event": "信号发送事件",
    "Link intermediate catch event": "链接接收事件",
    "Link intermediate throw event": "链接抛出事件",
    "Escalation intermediate throw event": "升级抛出事件",
    "Compensation intermediate throw event": "补偿抛出事件",
    "Message end event": "消息结束事件",
    "Error end event": "错误结束事件",
    "Escalation end event": "升级结束事件",
    "Compensation end event": "补偿结束事件",
    "Signal end event": "信号结束事件",
    "Terminate end event": "终止结束事件（撤销其余分支）",
    "Cancel end event": "取消结束事件",
    "Message boundary event": "消息边界事件",
    "Message boundary event (non-interrupting)": "消息边界事件（非中断）",
    "Timer boundary event": "定时器边界事件",
    "Timer boundary event (non-interrupting)": "定时器边界事件（非中断）",
    "Conditional boundary event": "条件边界事件",
    "Conditional boundary event (non-interrupting)": "条件边界事件（非中断）",
    "Signal boundary event": "信号边界事件",
    "Signal boundary event (non-interrupting)": "信号边界事件（非中断）",
    "Error boundary event": "错误边界事件",
    "Escalation boundary event": "升级边界事件",
    "Escalation boundary event (non-interrupting)": "升级边界事件（非中断）",
    "Compensation boundary event": "补偿边界事件",
    "Cancel boundary event": "取消边界事件",
    // flows, data, participants
    "Sequence flow": "顺序流",
    "Default flow": "默认路径",
    "Conditional flow": "条件路径",
    "Data object reference": "数据对象",
    "Data store reference": "数据存储",
    "Expanded pool/participant": "展开的泳池",
    "Empty pool/participant": "空泳池",
    // rule messages
    "flow elements must be children of pools/participants": "流程元素必须放在泳池内",
    "Data object must be placed within a pool/participant.": "数据对象必须放在泳池内"
  };

  function translate(template, replacements) {
    var text = Object.prototype.hasOwnProperty.call(ZH, template) ? ZH[template] : template;
    replacements = replacements || {};
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : "{" + key + "}";
    });
  }

  global.TongbanDesigner = global.TongbanDesigner || {};
  global.TongbanDesigner.translate = translate;
  global.TongbanDesigner.translateModule = { translate: ["value", translate] };
  global.TongbanDesigner.ZH = ZH;
})(window);
