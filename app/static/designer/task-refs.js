// What names a user task from elsewhere in the process, and what names a process on the canvas.
// A user task's id appears in the process's <tb:oneTimeNotice tasks="..">, in the startsAt, noticeAt and stopsAt
// of its <tb:clock> declarations and in its user tasks' <tb:assignment separateFrom="..">: renaming a task in the
// panel renames it in all of them, and deleting it from the canvas takes it out of the notice, the clocks and the
// other user tasks' separateFrom, each within the same command (one undo step). A process has no shape of its own
// in a collaboration: its pool (the participant whose processRef it is) stands for it.
(function (D) {
  "use strict";

  var CLOCK_REFS = ["startsAt", "noticeAt", "stopsAt"];
  var SPAN_REFS = ["startsAt", "stopsAt"];  // left naming a deleted task rather than emptied (see TaskRefs)

  function ids(value) {
    return (value || "").split(/[\s,]+/).filter(Boolean);
  }

  // The ids the process's tb:oneTimeNotice elements (`declared`) name, each once, in order.
  D.noticeTasks = function (declared) {
    var out = [];
    declared.forEach(function (n) {
      ids(n.tasks).forEach(function (id) { if (out.indexOf(id) < 0) { out.push(id); } });
    });
    return out;
  };

  // Steps that make the process declare exactly `ids` in one tb:oneTimeNotice (none: the element is removed).
  D.writeNotice = function (edits, element, process, declared, list) {
    var value = list.length ? { tasks: list.join(" ") } : null;
    if (declared.length < 2) { return edits.extension(element, process, "tb:OneTimeNotice", declared[0] || null, value); }
    var ext = process.extensionElements;  // hand-written XML may hold several: keep the first, drop the others
    var rest = ext.values.filter(function (v) { return declared.indexOf(v) < 0 || (value && v === declared[0]); });
    return [value ? edits.props(element, declared[0], value) : null,
            rest.length ? edits.props(element, ext, { values: rest }) : edits.props(element, process, { extensionElements: undefined })];
  };

  // The user tasks of a process, its subprocesses' included, in diagram order (what the loader accepts as refs).
  D.userTasks = function (process) {
    var tasks = [];
    (function collect(container) {
      (container.flowElements || []).forEach(function (e) {
        if (e.$instanceOf("bpmn:UserTask")) { tasks.push(e); }
        if (e.$instanceOf("bpmn:SubProcess")) { collect(e); }
      });
    })(process);
    return tasks;
  };

  // Every [extension element, attributes] of `process` whose values name user tasks.
  function references(process) {
    var out = D.extensions(process, "tb:OneTimeNotice").map(function (n) { return [n, ["tasks"]]; })
      .concat(D.extensions(process, "tb:Clock").map(function (c) { return [c, CLOCK_REFS]; }));
    D.userTasks(process).forEach(function (task) {
      D.extensions(task, "tb:Assignment").forEach(function (a) { out.push([a, ["separateFrom"]]); });
    });
    return out;
  }

  // Steps that make every reference in `process` to the element `from` name it `to` instead, in place: the
  // separators stay as written (separateFrom is split at commas only, the others at commas or spaces).
  // `element` is the renamed element's shape (the edits' element).
  D.renameTask = function (edits, element, process, from, to) {
    return references(process).map(function (ref) {
      var changes = {}, changed = false;
      ref[1].forEach(function (attr) {
        var rename = attr === "separateFrom" ? renameSeparate : renameIds;
        var value = rename(ref[0][attr], from, to);
        if (value !== null) { changes[attr] = value; changed = true; }
      });
      return changed ? edits.props(element, ref[0], changes) : null;
    }).filter(Boolean);
  };

  // `value`, ids split at commas or spaces, with the id `from` named `to`; null when it does not name `from`.
  function renameIds(value, from, to) {
    if (ids(value).indexOf(from) < 0) { return null; }
    return value.split(/([\s,]+)/).map(function (part) { return part === from ? to : part; }).join("");
  }

  // `value`, a separateFrom (ids split at commas only: "a b" is one id), with the id `from` named `to`, the
  // spaces around each id kept; null when it does not name `from`.
  function renameSeparate(value, from, to) {
    if (separateIds(value).indexOf(from) < 0) { return null; }
    return value.split(",").map(function (part) {
      return part.trim() === from ? part.replace(from, function () { return to; }) : part;
    }).join(",");
  }

  // The ids a separateFrom names: split at commas only, as the loader does.
  function separateIds(value) {
    return (value || "").split(",").map(function (part) { return part.trim(); }).filter(Boolean);
  }

  // `value`, a separateFrom, without the id `id`: each remaining id keeps the separator written after it (the last
  // one none). "" when no id is left.
  function withoutSeparate(value, id) {
    var parts = value.split(/(\s*,\s*)/);  // ids at even indexes, the separator after each at the odd ones
    var kept = [];
    for (var i = 0; i < parts.length; i += 2) {
      if (parts[i].trim() !== id) { kept.push(parts[i], parts[i + 1] || ""); }
    }
    kept.pop();
    return separateIds(kept.join("")).length ? kept.join("") : "";
  }

  // Whether the tb:assignment `a` says anything but its separateFrom.
  function assigns(a) {
    return Boolean(a.candidateGroups || a.candidateUsers || Object.keys(a.$attrs || {}).length);
  }

  // Steps that take the user task `id` out of `process`'s tb:oneTimeNotice (removed once empty).
  function forgetNotice(edits, host, process, id) {
    var declared = D.extensions(process, "tb:OneTimeNotice");
    var named = D.noticeTasks(declared);
    if (named.indexOf(id) < 0) { return []; }
    return D.writeNotice(edits, host, process, declared, named.filter(function (n) { return n !== id; }));
  }

  // Steps that take the user task `id` out of `process`'s clocks' startsAt, noticeAt and stopsAt (see forgetTask).
  function forgetClocks(edits, host, process, id) {
    return D.extensions(process, "tb:Clock").map(function (clock) {
      var changes = {}, changed = false;
      CLOCK_REFS.forEach(function (attr) {
        var list = ids(clock[attr]);
        if (list.indexOf(id) < 0) { return; }
        var rest = list.filter(function (n) { return n !== id; });
        if (!rest.length && SPAN_REFS.indexOf(attr) >= 0) { return; }
        changes[attr] = rest.length ? rest.join(" ") : undefined;
        changed = true;
      });
      return changed ? edits.props(host, clock, changes) : null;
    });
  }

  // Steps that take the user task `id` out of the separateFrom of `process`'s other user tasks. A separateFrom
  // left empty goes (the loader reads a missing one as an empty one), and so does a tb:assignment left with no
  // attribute (the loader reads it as none), lest the panel show its empty candidates over the task's
  // camunda:candidateGroups.
  function forgetSeparation(edits, host, process, id) {
    var steps = [];
    D.userTasks(process).forEach(function (task) {
      if (task.id === id) { return; }
      var emptied = [];
      D.extensions(task, "tb:Assignment").forEach(function (a) {
        if (separateIds(a.separateFrom).indexOf(id) < 0) { return; }
        var rest = withoutSeparate(a.separateFrom, id);
        if (rest || assigns(a)) { steps.push(edits.props(host, a, { separateFrom: rest || undefined })); }
        else { emptied.push(a); }
      });
      if (!emptied.length) { return; }
      var values = task.extensionElements.values.filter(function (v) { return emptied.indexOf(v) < 0; });
      steps.push(values.length ? edits.props(host, task.extensionElements, { values: values })
                               : edits.props(host, task, { extensionElements: undefined }));
    });
    return steps;
  }

  // Steps that take the user task `id` out of `process`'s tb:oneTimeNotice (removed once empty), out of its
  // clocks' startsAt, noticeAt and stopsAt and out of its other user tasks' separateFrom (removed once empty).
  // A noticeAt left empty goes; a startsAt or stopsAt that would be left empty keeps the id, so the clock is
  // neither dropped nor silently made to run from receipt or to the end of the case: lint reports TB_BAD_CLOCK
  // on it until the designer names another task. `host` is the process's shape (the edits' element).
  D.forgetTask = function (edits, host, process, id) {
    return forgetNotice(edits, host, process, id).concat(forgetClocks(edits, host, process, id),
                                                        forgetSeparation(edits, host, process, id)).filter(Boolean);
  };

  // The canvas element `id` names: the element itself, or for the id of a process inside a collaboration its
  // pool. (A diagram without pools has the process as its root element, found by id.)
  D.elementFor = function (registry, id) {
    if (!id) { return null; }
    return registry.get(id) || registry.filter(function (e) {
      return e.type === "bpmn:Participant" && e.businessObject.processRef && e.businessObject.processRef.id === id;
    })[0] || null;
  };

  // The shape that stands for the bpmn:Process `process`: its pool, or the root element of a diagram without pools.
  D.processShape = function (registry, process) {
    return registry.filter(function (e) {
      var bo = e.businessObject;
      return bo === process || (e.type === "bpmn:Participant" && bo.processRef === process);
    })[0] || null;
  };

  // Registers the hook: before a user task is deleted (alone, with a selection, or with its subprocess or pool),
  // its id leaves the process's extensions and its other user tasks' separateFrom, as nested commands of the same
  // deletion, so one undo restores them all.
  // Replacing a task keeps its id on the canvas (bpmn-js gives the new element the old id), so the shape a
  // replace removes is left alone.
  function TaskRefs(modeler, edits) {
    var registry = modeler.get("elementRegistry");
    var replaced = [];
    modeler.on("commandStack.shape.replace.preExecute", function (event) { replaced.push(event.context.oldShape); });
    modeler.on("commandStack.changed", function () { replaced = []; });
    modeler.on("commandStack.shape.delete.preExecute", function (event) {
      var shape = event.context.shape;
      var bo = shape.businessObject;
      if (shape.labelTarget || !bo || !bo.$instanceOf("bpmn:UserTask") || replaced.indexOf(shape) >= 0) { return; }
      var process = D.processOf(shape);
      var host = process ? D.processShape(registry, process) : null;
      if (host) { edits.run(D.forgetTask(edits, host, process, bo.id)); }
    });
  }

  D.TaskRefs = TaskRefs;
})(window.TongbanDesigner);
