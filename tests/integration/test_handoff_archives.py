"""Both cases of an 异地代收代办 are archived: the owning case's materials come from the handoff manifest."""
from __future__ import annotations

import json
import zipfile

from app import create_app
from app.runtime import set_engine
from engine import TimerWorker, list_archives, verify_archive
from tests.handoff_helpers import complete_handoff
from tests.unit.archive_fixture import entries, rezip


def test_both_packages_of_a_handoff_are_built_and_verify_with_each_material_s_source(engine, database_url):
    receiving, owning = complete_handoff(engine)
    TimerWorker(engine).build_archives()
    archives = {a.case_id: a for a in list_archives(engine)}
    assert {archives[c].state for c in (receiving, owning)} == {"built"}, \
        [(a.case_no, a.state, a.last_error) for a in archives.values()]
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    runner = app.test_cli_runner()
    sources = {}
    for case_id in (receiving, owning):
        info = archives[case_id]
        path = engine.config.archives_dir / info.path
        verified = runner.invoke(args=["archive", "verify", str(path)])
        assert verified.exit_code == 0, verified.output
        with zipfile.ZipFile(path) as package:
            names = {n.split("/", 1)[1] for n in package.namelist()}
            items = json.loads(package.read(f"{info.case_no}/materials/materials.json"))
            readme = package.read(f"{info.case_no}/README.txt").decode()
        sources[case_id] = {m["key"]: m["source"] for m in items}
        assert ("metadata/handoff.json" in names) == (case_id == owning)
        assert ("metadata/handoff.json" in readme and "移交消息" in readme) == (case_id == owning)
    assert set(sources[receiving].values()) == {"application"}
    assert set(sources[owning].values()) == {"handoff"}
    assert set(sources[owning]) == set(sources[receiving]) >= {"application_form", "water_quality_report"}

    # The manifest and the sources are tied to the chain: an edit with a matching manifest is still caught.
    owning_zip = (engine.config.archives_dir / archives[owning].path).read_bytes()
    files = entries(owning_zip)
    for path, old, new, message in (
            ("metadata/handoff.json", b'"water_quality_report"', b'"water_quality_repory"', "消息被改动"),
            ("materials/materials.json", b'"source": "handoff"', b'"source": "applic"', "source 与移交消息的材料清单不符"),
            ("metadata/handoff.json", None, None, "缺少该消息")):
        changed = None if old is None else files[path].replace(old, new, 1)
        tampered = engine.config.archives_dir / "tampered.zip"
        tampered.write_bytes(rezip(owning_zip, change={path: changed}, fix_manifest=True,
                                    case_no=archives[owning].case_no))
        result = verify_archive(tampered)
        assert not result.ok and message in result.problem.message, result.problem
