// Every edit the properties panel makes is a bpmn-js modeling command, so undo and redo cover it.
// Several commands that belong together (e.g. write tb:assignment and drop the camunda alias) run as one
// "tb.multi" command: one undo step.
(function (D) {
  "use strict";

  function MultiCommandHandler(commandStack) { this._stack = commandStack; }
  MultiCommandHandler.$inject = ["commandStack"];
  MultiCommandHandler.prototype.preExecute = function (context) {
    var stack = this._stack;
    context.steps.forEach(function (step) { stack.execute(step[0], step[1]); });
  };

  function Edits(modeler) {
    this.modeler = modeler;
    this.moddle = modeler.get("moddle");
    this.stack = modeler.get("commandStack");
    this.stack.registerHandler("tb.multi", MultiCommandHandler);
  }

  // Run a list of [command, context] steps as one undoable change.
  Edits.prototype.run = function (steps) {
    steps = steps.filter(Boolean);
    if (!steps.length) { return; }
    if (steps.length === 1) { this.stack.execute(steps[0][0], steps[0][1]); return; }
    this.stack.execute("tb.multi", { steps: steps });
  };

  Edits.prototype.props = function (element, target, properties) {
    return ["element.updateModdleProperties", { element: element, moddleElement: target, properties: properties }];
  };

  Edits.prototype.shapeProps = function (element, properties) {
    return ["element.updateProperties", { element: element, properties: properties }];
  };

  Edits.prototype.expression = function (body) {
    return body ? this.moddle.create("bpmn:FormalExpression", { body: body }) : undefined;
  };

  // The extension elements of `bo` of moddle `type` (e.g. "tb:Clock").
  D.extensions = function (bo, type) {
    var ext = bo && bo.extensionElements;
    return ext && ext.values ? ext.values.filter(function (v) { return v.$instanceOf(type); }) : [];
  };

  D.extension = function (bo, type) { return D.extensions(bo, type)[0] || null; };

  function clean(attrs) {
    var out = {};
    Object.keys(attrs).forEach(function (key) {
      if (attrs[key] !== undefined && attrs[key] !== null && attrs[key] !== "") { out[key] = attrs[key]; }
    });
    return out;
  }

  // Steps that create, change (attrs) or remove (attrs === null) one extension element of `bo`.
  Edits.prototype.extension = function (element, bo, type, existing, attrs) {
    var ext = bo.extensionElements;
    if (existing && attrs) {
      var changes = {};
      Object.keys(attrs).forEach(function (key) { changes[key] = attrs[key] === "" ? undefined : attrs[key]; });
      return [this.props(element, existing, changes)];
    }
    if (existing) {
      var rest = ext.values.filter(function (v) { return v !== existing; });
      return [rest.length ? this.props(element, ext, { values: rest })
                          : this.props(element, bo, { extensionElements: undefined })];
    }
    if (!attrs) { return []; }
    var created = this.moddle.create(type, clean(attrs));
    if (ext) {
      created.$parent = ext;
      return [this.props(element, ext, { values: (ext.values || []).concat(created) })];
    }
    var fresh = this.moddle.create("bpmn:ExtensionElements", { values: [created] });
    created.$parent = fresh;
    fresh.$parent = bo;
    return [this.props(element, bo, { extensionElements: fresh })];
  };

  // Steps that drop Camunda 7 alias attributes (written again as tb: extensions).
  Edits.prototype.dropAliases = function (element, bo, names) {
    var present = {};
    names.forEach(function (name) {
      if (bo.$attrs && bo.$attrs[name] !== undefined) { present[name] = undefined; }
    });
    return Object.keys(present).length ? [this.props(element, bo, present)] : [];
  };

  // Steps that add a new bpmn:Message named `name` to the definitions; returns [steps, message].
  Edits.prototype.newMessage = function (element, name) {
    var definitions = this.modeler.getDefinitions();
    var id = "Message_" + Math.random().toString(36).slice(2, 9);
    var message = this.moddle.create("bpmn:Message", { id: id, name: name });
    message.$parent = definitions;
    return [[this.props(element, definitions, { rootElements: definitions.rootElements.concat(message) })], message];
  };

  D.Edits = Edits;
})(window.TongbanDesigner);
