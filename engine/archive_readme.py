"""The README.txt of an archive package: what it holds and how to check it, in Chinese, for people.

The text depends on the package's format version: the verifier regenerates it and compares it byte for byte,
so a package keeps the README of the version it was written in. Version 2 adds what the event chain does not
protect (:data:`_UNPROTECTED_V2`); version 3 says that a clock started at 受理 has its budget in
``ClocksStarted`` and checked exactly, except in cases accepted before (:data:`_UNPROTECTED`); version 4 that a
``ClocksStarted`` may name the clocks its 受理 resumed, and why an older tongban refuses the package
(:data:`_RESUMED`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from . import archive_format as fmt

_LAYOUT = (
    ("README.txt", "本说明"),
    ("manifest.json", "清单：办件元数据，及包内每个文件的 SHA-256 和字节数（校验信息）"),
    (fmt.CASE, "办件元数据：办件编号、事项、业务属地与收件地、收件与办结时间、时限"),
    (fmt.CATALOG, "事项目录条目（收件时所依据的版本）"),
    (fmt.APPLICATION, "办事申请：申请人、代理人、联系方式（含个人信息，按档案管理要求保管）"),
    (fmt.HANDOFF, "移交消息（异地代收代办）：收件地办件移交的消息及其材料清单；其摘要记入 MessageReceived 事件"),
    (fmt.CHAIN_HEAD, "审计哈希链的链头"),
    (fmt.DEFINITION, "流程定义说明：流程键、版本、内容哈希、所引用的表单版本"),
    (fmt.BPMN_DIR, "流程图 BPMN 原文，与办件锁定的版本逐字节一致"),
    (fmt.FORMS_DIR, "表单定义（form-js JSON），办件锁定的版本"),
    (fmt.EVENTS, "审计事件：每行一个 JSON，含前一事件哈希（prev_hash）与本事件哈希（hash）"),
    (fmt.FORM_DATA, "各环节提交的表单数据（由审计事件导出）"),
    (fmt.MATERIALS, "申请材料清单：名称、SHA-256、字节数、原件核验人"),
    (fmt.FILES_DIR, "申请材料电子文件，以 SHA-256 命名"),
)


_UNPROTECTED_V2 = (
    "  4. 以下内容不在审计事件中，哈希链不保护，只受 manifest.json 中的 SHA-256 保护（请将本包的 SHA-256 与",
    "     系统登记的值核对：tongban archive list）：metadata/application.json（个人信息不写入审计日志）、",
    "     办件标题、材料清单中的说明性字段（名称、原文件名、类型），以及 metadata/case.json 中时限的黄灯阈值、",
    "     起算和结束的环节、未起算时限的等待记录。受理时起算、天数未记入 ClocksStarted 事件的时限，其天数只核对",
    "     为所锁定的流程图或事项目录声明的时限之一（办件迁移过流程版本的不核对）。",
)
"""Format version 2: what only the manifest's sha256 protects (kept byte for byte for version 2 packages)."""

_UNPROTECTED = (
    "  4. 以下内容不在审计事件中，哈希链不保护，只受 manifest.json 中的 SHA-256 保护（请将本包的 SHA-256 与",
    "     系统登记的值核对：tongban archive list）：metadata/application.json（个人信息不写入审计日志）、",
    "     办件标题、材料清单中的说明性字段（名称、原文件名、类型），以及 metadata/case.json 中时限的黄灯阈值、",
    "     起算和结束的环节、未起算时限的等待记录。",
    "  5. 时限的天数记入其起算的 ClocksStarted 事件（budget），metadata/case.json 中的天数与之逐一核对。",
    "     较早受理的办件中，受理时起算且天数不取自办件变量的时限，其 ClocksStarted 事件未记录天数：",
    "     其天数只核对为所锁定的流程图或事项目录声明的时限之一（两个声明的时限互换无法发现；",
    "     办件迁移过流程版本的不核对）。",
)
"""Format version 3: what only the manifest's sha256 protects, and which budgets only older events leave
unrecorded (README.md, Archives and exports, says the same)."""

_RESUMED = (
    "  6. 受理时结束了补正暂停的时限，其 ClocksStarted 事件记有 resumed（时限种类及所结束暂停的原因），",
    "     该时限自此事件起恢复计时，metadata/case.json 中的计时时段据此核对。只认识第 1 至 3 版格式的 tongban",
    "     不认识 resumed，会以“不支持的格式版本”拒绝本包，请用更新版本的 tongban 校验。",
)
"""Format version 4 adds: ``ClocksStarted.resumed``, and why an older verifier refuses the package."""

_CHECKS = {1: (), 2: _UNPROTECTED_V2, 3: _UNPROTECTED, 4: _UNPROTECTED + _RESUMED}
"""The version-dependent end of 如何校验, by format version."""


def readme_text(manifest: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> str:
    """Return the README for a package whose manifest (without its file list yet) and entries are given.

    The manifest's ``format_version`` picks the text (a package written in version 1 keeps its README).
    """
    case, chain = manifest["case"], manifest["chain"]
    version = manifest.get("format_version", fmt.FORMAT_VERSION)
    present = {e["path"] for e in entries} | {fmt.README, fmt.MANIFEST}
    layout = [f"  {path:<32}{text}" for path, text in _LAYOUT
              if path in present or any(p.startswith(path) for p in present if path.endswith("/"))]
    matter = "（未关联事项目录）"
    if case.get("matter_code"):
        matter = (f"{case.get('matter_name') or ''}（实施编码 {case['matter_code']}，基本编码 "
                  f"{case.get('basic_code') or '无'}，目录第 {case.get('matter_version')} 版）")
    lines = [
        f"归档信息包 {manifest['package']}",
        "=" * 40,
        "",
        "本归档信息包由 tongban（通办）在办件办结后自动生成（办结即归档；《国务院关于在线政务服务的若干规定》",
        "第十二条：按照档案管理要求及时以电子形式归档）。结构参照 " + fmt.STANDARD + "：",
        "以办件编号命名，包含元数据、电子文件及其校验信息。",
        "",
        f"办件编号：{case['case_no']}",
        f"标题：{case.get('title') or ''}",
        f"事项：{matter}",
        f"业务属地：{case.get('owning_district') or '无'}    收件地：{case.get('receiving_district') or '无'}",
        f"收件时间：{case.get('started_at')}    办结时间：{case.get('ended_at')}",
        f"流程：{case.get('process_key')} 第 {case.get('definition_version')} 版（内容哈希 "
        f"{case.get('definition_hash')}）",
        f"审计事件：{chain['event_count']} 个；链头 {chain['head']}",
        f"格式：{fmt.FORMAT} 第 {version} 版",
        "",
        "目录",
        *layout,
        "",
        "如何校验",
        "  1. 运行 tongban archive verify <本文件>：离线校验，不需要数据库；逐一核对每个文件的 SHA-256、",
        "     审计事件的哈希链、流程定义与事项目录的内容哈希、材料清单，报告第一个问题所在的文件、应为值和实际值。",
        "  2. 没有 tongban 时：解压后对每个文件计算 SHA-256（如 sha256sum），与 manifest.json 中 files 的",
        "     sha256 逐一比对。事件哈希 = SHA-256(前一事件哈希 + 换行 + 规范 JSON)，规范 JSON 为",
        "     {case_no, seq, type, at, actor, element_id, task_id, payload} 按键排序、无空白、UTF-8 原文；",
        "     at 为 UTC 时间（YYYY-MM-DDTHH:MM:SS.ffffffZ）；第一个事件的前一哈希为 64 个 0。",
        "     最后一个事件的哈希即链头，应与 manifest.json 和 metadata/chain_head.json 一致，",
        "     并可与系统中区县每日封存的链头（tongban audit seal / tongban verify --all）核对。",
        "  3. 流程定义的内容哈希、事项目录条目的内容哈希已记入 CaseStarted 和 MatterReceived 事件，",
        "     因此流程图、表单和目录条目也受哈希链保护。",
        *_CHECKS.get(version, _CHECKS[fmt.FORMAT_VERSION]),
        "",
        "时间均为北京时间（UTC+8），审计事件内的 at 字段除外（UTC）。",
        "",
    ]
    return "\n".join(lines)
