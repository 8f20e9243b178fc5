// zh-CN for the form-js editor's palette and properties panel. form-js 1.x has no translation hook for these
// labels, so a MutationObserver rewrites exact matches of its own label texts inside its palette, properties
// panel and empty-canvas card. The form canvas itself (the designer's labels) is never touched.
(function (global) {
  "use strict";

  var ZH = {
    // palette groups and components
    "Components": "组件", "Search components": "搜索组件", "Input": "输入", "Selection": "选择",
    "Presentation": "展示", "Containers": "容器", "Action": "操作",
    "Text field": "单行文本", "Text area": "多行文本", "Number": "数字", "Date time": "日期时间", "Date": "日期",
    "Checkbox": "复选框", "Checkbox group": "复选框组", "Radio group": "单选按钮组", "Select": "下拉选择",
    "Tag list": "标签列表", "Text view": "文本展示", "Text": "文本", "Image view": "图片", "Table": "表格",
    "HTML view": "HTML 展示", "Document preview": "文档预览", "Spacer": "间隔", "Separator": "分隔线",
    "Group": "分组", "Dynamic list": "动态列表", "iFrame": "内嵌页面", "Button": "按钮",
    "Expression": "表达式", "File picker": "文件选择",
    "Build your form": "设计表单", "Drag and drop components here to start designing.": "把左侧组件拖到这里开始设计。",
    "Drag and drop components here.": "把组件拖到这里。", "No components found.": "没有找到组件",
    "Form": "表单", "Default": "默认",
    // properties panel groups
    "General": "常规", "Condition": "显示条件", "Validation": "校验", "Layout": "布局", "Appearance": "外观",
    "Constraints": "约束", "Serialization": "序列化", "Custom properties": "自定义属性", "Options source": "选项来源",
    "Static options": "固定选项", "Dynamic options": "动态选项", "Options expression": "选项表达式",
    "Security attributes": "安全属性", "Headers source": "表头来源", "Header items": "表头", "Data source": "数据来源",
    "Pagination": "分页", "Content": "内容",
    // properties panel fields
    "ID": "ID", "Key": "字段键", "Field label": "字段标题", "Label": "标题", "Field description": "字段说明",
    "Default value": "默认值", "Required": "必填", "Read only": "只读", "Disabled": "禁用", "Hide if": "隐藏条件",
    "Minimum length": "最小长度", "Maximum length": "最大长度", "Minimum": "最小值", "Maximum": "最大值",
    "Validation pattern": "校验规则", "Custom regular expression": "自定义正则表达式", "Custom error message": "自定义错误提示",
    "Regular expression pattern": "正则表达式", "Email": "电子邮件", "Phone": "电话", "Custom": "自定义",
    "Decimal digits": "小数位数", "Increment": "步长", "Prefix": "前缀", "Suffix": "后缀", "Searchable": "可搜索",
    "Columns": "列宽", "Column": "列", "Auto": "自动", "Subtype": "子类型", "Time format": "时间格式",
    "Time interval": "时间间隔", "Use 24h": "24 小时制", "Date label": "日期标题", "Time label": "时间标题",
    "Disallow past dates": "不允许过去的日期", "Value": "值", "Name": "名称", "Type": "类型", "Path": "路径",
    "Alternative text": "替代文字", "Image source": "图片地址", "Height": "高度", "URL": "网址",
    "Version tag": "版本标签", "Allow add/delete items": "允许增删条目", "Default number of items": "默认条目数",
    "Disable collapse": "禁止折叠", "Number of non-collapsing items": "不折叠的条目数", "Show outline": "显示边框",
    "Vertical alignment": "垂直对齐", "Top": "顶部", "Center": "居中", "Bottom": "底部",
    "Number of rows per page": "每页行数", "Input values key": "输入值键", "Target value": "目标值",
    "Compute on": "计算时机", "Value changes": "值变化时", "Form submission": "提交表单时", "Output as string": "输出为文本",
    "Supported file formats": "支持的文件格式", "Upload multiple files": "允许多个文件", "Document reference": "文档引用",
    "Max height of preview container": "预览区最大高度", "List of items": "条目列表", "Checked": "选中", "Not checked": "未选中",
    "Submit": "提交", "Reset": "重置", "<none>": "（无）", "<empty>": "（空）",
    "Toggle section": "展开或折叠", "Section contains an error": "此部分有错误", "Section contains edits": "此部分已修改",
    "Open documentation": "打开文档", "Toggle list item": "展开或折叠条目", "Add": "添加", "Delete": "删除",
    "Remove": "删除", "Create": "新建", "Search": "搜索",
    // properties panel descriptions
    "Binds to a form variable": "提交时写入办件数据的字段名",
    "Allows arbitrary precision values": "允许任意精度的数值",
    "Define an expression to calculate the value of this field": "用表达式计算本字段的值",
    "Define an expression to populate the options from.": "用表达式生成选项",
    "Define which input property to populate the values from": "指定从哪个输入属性读取选项",
    "Expression or static value (link/data URI)": "表达式或固定值（链接或 data URI）",
    "Height of the container in pixels.": "容器高度（像素）",
    "Where the child variables of this component are pathed to.": "本组件的子字段写入的路径"
  };
  var SCOPES = ".fjs-palette, .fjs-properties-container, .bio-properties-panel, .fjs-empty-editor, .fjs-context-pad";
  var ATTRS = ["placeholder", "title", "aria-label"];

  function inScope(node) {
    var el = node.nodeType === 1 ? node : node.parentElement;
    return el && el.closest && el.closest(SCOPES);
  }

  function translateNode(root) {
    if (root.nodeType === 3) {
      var text = root.nodeValue.trim();
      if (text && ZH[text] && inScope(root)) { root.nodeValue = root.nodeValue.replace(text, ZH[text]); }
      return;
    }
    if (root.nodeType !== 1) { return; }
    if (inScope(root)) {
      ATTRS.forEach(function (name) {
        var value = root.getAttribute(name);
        if (value && ZH[value.trim()]) { root.setAttribute(name, ZH[value.trim()]); }
      });
    }
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    var node = walker.nextNode();
    while (node) {
      if (node.nodeType === 3) { translateNode(node); }
      else if (inScope(node)) {
        ATTRS.forEach(function (name) {
          var value = node.getAttribute(name);
          if (value && ZH[value.trim()]) { node.setAttribute(name, ZH[value.trim()]); }
        });
      }
      node = walker.nextNode();
    }
  }

  function translateForms(container) {
    translateNode(container);
    var observer = new MutationObserver(function (mutations) {
      observer.disconnect();  // our own rewrites must not trigger another pass
      mutations.forEach(function (m) {
        if (m.type === "characterData") { translateNode(m.target); }
        else if (m.type === "attributes") { translateNode(m.target); }
        else { m.addedNodes.forEach(translateNode); }
      });
      observe();
    });
    function observe() {
      observer.observe(container, { childList: true, subtree: true, characterData: true, attributes: true,
                                    attributeFilter: ATTRS });
    }
    observe();
    return observer;
  }

  global.TongbanDesigner = global.TongbanDesigner || {};
  global.TongbanDesigner.translateForms = translateForms;
})(window);
