"""A BPMN file carrying markup a browser would run (XHTML, SVG, script, event handlers) is refused.

A deployed diagram is served back to every staff browser that opens a case, so a designer must not be able
to plant a script in it (stored XSS); versions deployed before the check still load.
"""
from __future__ import annotations

import pytest

from engine.errors import DefinitionRejected
from engine.spiff.xml_loader import parse_xml

BPMN = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:tb="https://tongban.example/schema/bpmn">'
        '<bpmn:process id="p" isExecutable="true">{}</bpmn:process></bpmn:definitions>')
XHTML_SCRIPT = ('<bpmn:extensionElements><html:script xmlns:html="http://www.w3.org/1999/xhtml">'
                'alert(document.cookie)</html:script></bpmn:extensionElements>')


def refused(body: str, prolog: str = "") -> str:
    with pytest.raises(DefinitionRejected) as caught:
        parse_xml((prolog + BPMN.format(body)).encode(), name="x.bpmn", max_bytes=1_000_000)
    [finding] = caught.value.details["findings"]
    assert finding["code"] == "BPMN_ACTIVE_CONTENT"
    assert finding["message"] == caught.value.message and "不予接受" in finding["message"]
    return caught.value.message


def test_an_xhtml_script_in_the_extension_elements_is_refused_naming_the_element():
    said = refused(XHTML_SCRIPT)
    assert said.startswith("文件 x.bpmn 中第 1 行的 script 元素（命名空间 http://www.w3.org/1999/xhtml）")


@pytest.mark.parametrize("body", [
    '<bpmn:extensionElements><h:div xmlns:h="http://www.w3.org/1999/xhtml">x</h:div></bpmn:extensionElements>',
    '<bpmn:extensionElements><svg xmlns="http://www.w3.org/2000/svg"/></bpmn:extensionElements>',
    '<bpmn:extensionElements><m:math xmlns:m="http://www.w3.org/1998/Math/MathML"/></bpmn:extensionElements>',
])
def test_any_xhtml_svg_or_mathml_element_is_refused(body):
    assert "命名空间 http://www.w3.org/" in refused(body)


@pytest.mark.parametrize("body", [
    '<bpmn:extensionElements><script>alert(1)</script></bpmn:extensionElements>',
    '<bpmn:extensionElements><x:SCRIPT xmlns:x="urn:x">alert(1)</x:SCRIPT></bpmn:extensionElements>',
    '<bpmn:extensionElements><tb:script/></bpmn:extensionElements>',
])
def test_a_script_element_is_refused_whatever_its_namespace(body):
    assert "的 script 元素" in refused(body) or "的 SCRIPT 元素" in refused(body)


@pytest.mark.parametrize("attribute", ['onload="alert(1)"', 'x:onclick="alert(1)" xmlns:x="urn:x"',
                                       'onMouseOver="alert(1)"'])
def test_an_event_handler_attribute_is_refused(attribute):
    said = refused(f'<bpmn:userTask id="t" name="审批" {attribute}/>')
    assert "第 1 行的 userTask 元素的事件处理属性 on" in said


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "java&#9;script:alert(1)",
                                 "java&#10;scr&#13;ipt:alert(1)", "vbscript:msgbox"])
def test_a_script_url_in_any_attribute_is_refused(url):
    body = f'<bpmn:extensionElements><x:link xmlns:x="urn:x" href="{url}"/></bpmn:extensionElements>'
    assert "的属性 href 中的脚本链接" in refused(body)


def test_an_xslt_stylesheet_instruction_is_refused():
    prolog = '<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="/x.xsl"?>'
    assert "xml-stylesheet" in refused('<bpmn:startEvent id="s"/>', prolog)


def test_ordinary_names_documentation_and_scripts_of_the_process_are_accepted():
    body = ('<bpmn:userTask id="t" name="onion 审批 javascript 说明">'
            '<bpmn:documentation>javascript:void(0) 只是文字；&lt;script&gt;也是</bpmn:documentation>'
            '</bpmn:userTask><bpmn:scriptTask id="s" scriptFormat="python"><bpmn:script>x = 1</bpmn:script>'
            '</bpmn:scriptTask>')
    root = parse_xml(BPMN.format(body).encode(), name="x.bpmn", max_bytes=1_000_000)
    assert root.find(".//{*}userTask").get("name").startswith("onion")


def test_a_version_deployed_before_the_check_still_loads():
    """Reloading, replaying or comparing a stored version passes ``stored``: it is never refused afresh."""
    root = parse_xml(BPMN.format(XHTML_SCRIPT).encode(), name="x.bpmn", max_bytes=1_000_000, stored=True)
    assert root.find(".//{http://www.w3.org/1999/xhtml}script").text == "alert(document.cookie)"


def refused_finding(body: str, prolog: str = "", document: str = BPMN) -> dict:
    with pytest.raises(DefinitionRejected) as caught:
        parse_xml((prolog + document.format(body)).encode(), name="x.bpmn", max_bytes=1_000_000)
    [finding] = caught.value.details["findings"]
    assert finding["code"] == "BPMN_ACTIVE_CONTENT"
    return finding


@pytest.mark.parametrize(("body", "element_id"), [
    ('<bpmn:userTask id="t" name="审批" onload="alert(1)"/>', "t"),                 # on the element itself
    (f'<bpmn:userTask id="t" name="审批">{XHTML_SCRIPT}</bpmn:userTask>', "t"),     # in its extensions
    ('<bpmn:userTask id="t"><bpmn:extensionElements><x:link xmlns:x="urn:x" href="javascript:alert(1)"/>'
     '</bpmn:extensionElements></bpmn:userTask>', "t"),
    (XHTML_SCRIPT, "p"),                                                             # the process's own
])
def test_the_finding_names_the_bpmn_element_holding_the_markup_for_the_modeler_to_highlight(body, element_id):
    """QA: a draft save refused with 「第 1 行的 script 元素」, the file and the tag, and no element to select."""
    finding = refused_finding(body)
    assert finding["element_id"] == element_id and "第 1 行的" in finding["message"]


def test_markup_outside_the_processes_names_no_element():
    stylesheet = '<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="/x.xsl"?>'
    assert refused_finding('<bpmn:startEvent id="s"/>', stylesheet)["element_id"] is None
    top = BPMN.replace('<bpmn:process id="p"', '<h:div xmlns:h="http://www.w3.org/1999/xhtml"/><bpmn:process id="p"')
    assert refused_finding('<bpmn:startEvent id="s"/>', document=top)["element_id"] is None
