"""Build small BPMN documents for tests, with a chosen condition, script, timer or extension."""
from __future__ import annotations

from xml.sax.saxutils import escape

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_t" targetNamespace="http://tongban.test">\n')


def diagram(*, process_id: str = "probe", condition: str | None = None, script: str | None = None,
            timer: str | None = None, task_extensions: str | None = None, with_start: bool = True) -> bytes:
    """Return start -> [script] -> task -> gateway(condition) -> end, optionally with a boundary timer."""
    ext = task_extensions if task_extensions is not None else '<tb:assignment candidateGroups="reviewer"/>'
    parts = [f'<bpmn:process id="{process_id}" isExecutable="true">']
    if with_start:
        parts.append('<bpmn:startEvent id="start"/>')
    first = "script" if script is not None else "task"
    if with_start:
        parts.append(f'<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="{first}"/>')
    if script is not None:
        parts.append(f'<bpmn:scriptTask id="script"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>')
        parts.append('<bpmn:sequenceFlow id="fs" sourceRef="script" targetRef="task"/>')
    parts.append(f'<bpmn:userTask id="task" name="任务"><bpmn:extensionElements>{ext}'
                 '</bpmn:extensionElements></bpmn:userTask>')
    if timer is not None:
        parts.append('<bpmn:boundaryEvent id="timer" attachedToRef="task"><bpmn:timerEventDefinition>'
                     f'<bpmn:timeDuration>{escape(timer)}</bpmn:timeDuration></bpmn:timerEventDefinition>'
                     '</bpmn:boundaryEvent><bpmn:sequenceFlow id="ft" sourceRef="timer" targetRef="end"/>')
    parts.append('<bpmn:sequenceFlow id="f1" sourceRef="task" targetRef="gw"/>')
    parts.append('<bpmn:exclusiveGateway id="gw" default="f_default"/>')
    if condition is not None:
        parts.append('<bpmn:sequenceFlow id="f_cond" sourceRef="gw" targetRef="end">'
                     f'<bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>')
    parts.append('<bpmn:sequenceFlow id="f_default" sourceRef="gw" targetRef="end"/>')
    parts.append('<bpmn:endEvent id="end"/></bpmn:process>')
    return (HEAD + "\n".join(parts) + "\n</bpmn:definitions>\n").encode()
