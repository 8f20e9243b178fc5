// Check BPMN diagrams the way Camunda Modeler reads them: bpmn-moddle extended with camunda-bpmn-moddle and our
// own tb: descriptor (app/static/designer/tb-moddle.json).
//
//   node tests/js/check_diagrams.mjs [--json] [FILE.bpmn ...]     (no file: every processes/**/*.bpmn)
//
// A problem is {file, code, element, message}. Exit 0 when there is none, 1 otherwise, 2 on bad usage.
// Codes: IMPORT_FAILED (not a BPMN document), IMPORT_WARNING (unknown element or attribute, unresolved reference), UNKNOWN_NAMESPACE,
// DI_MISSING_SHAPE / DI_DUPLICATE_SHAPE, DI_MISSING_EDGE / DI_DUPLICATE_EDGE, DI_FEW_WAYPOINTS,
// DI_DANGLING (a DI element pointing to no element), DI_BAD_BOUNDS, DI_SAME_BOUNDS, ROUNDTRIP_IDS,
// ROUNDTRIP_TB (what a save in the Modeler, toXML then import again, would lose), ROUNDTRIP_FAILED.
import { BpmnModdle } from 'bpmn-moddle';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const CAMUNDA = require('camunda-bpmn-moddle/resources/camunda.json');
const TB = JSON.parse(readFileSync(join(ROOT, 'app', 'static', 'designer', 'tb-moddle.json'), 'utf8'));
const KNOWN_NAMESPACES = new Set([
  'http://www.omg.org/spec/BPMN/20100524/MODEL', 'http://www.omg.org/spec/BPMN/20100524/DI',
  'http://www.omg.org/spec/DD/20100524/DC', 'http://www.omg.org/spec/DD/20100524/DI',
  'http://www.w3.org/2001/XMLSchema-instance', CAMUNDA.uri, TB.uri,
]);
const SHAPED = ['bpmn:FlowNode', 'bpmn:DataObjectReference', 'bpmn:DataStoreReference', 'bpmn:Lane',
  'bpmn:Participant'];
const EDGED = ['bpmn:SequenceFlow', 'bpmn:MessageFlow'];

function newModdle() {
  return new BpmnModdle({ camunda: CAMUNDA, tb: TB });
}

function children(el) {
  // The semantic children a diagram draws: flow elements, lanes, participants, message flows, artifacts.
  const lanes = (el.laneSets || []).flatMap((set) => set.lanes || []);
  const nested = lanes.flatMap((lane) => (lane.childLaneSet ? lane.childLaneSet.lanes || [] : []));
  return [...(el.flowElements || []), ...lanes, ...nested, ...(el.participants || []),
    ...(el.messageFlows || []), ...(el.artifacts || [])];
}

function semanticElements(definitions) {
  const found = [];
  const visit = (el) => {
    found.push(el);
    children(el).forEach(visit);
  };
  (definitions.rootElements || []).forEach(visit);
  return found;
}

function diElements(definitions) {
  const found = [];
  for (const diagram of definitions.diagrams || []) {
    const plane = diagram.plane;
    if (!plane) continue;
    found.push({ di: plane, plane });
    (plane.planeElement || []).forEach((di) => found.push({ di, plane }));
  }
  return found;
}

function flat(message) {
  return message.split('\n').map((line) => line.trim()).join(' ');
}

function problem(code, element, message) {
  return { code, element: element || null, message };
}

function checkNamespaces(xml) {
  const found = [];
  for (const [, prefix, uri] of xml.matchAll(/xmlns(?::([\w.-]+))?="([^"]*)"/g)) {
    if (!KNOWN_NAMESPACES.has(uri)) {
      found.push(problem('UNKNOWN_NAMESPACE', prefix || null,
        `命名空间 ${prefix || '(默认)'}="${uri}" 不是 BPMN、Camunda 或 tb 的命名空间，其中的扩展不会被识别`));
    }
  }
  return found;
}

function checkInterchange(definitions) {
  const found = [];
  const shapes = new Map();
  const edges = new Map();
  const bounds = new Map();
  for (const { di, plane } of diElements(definitions)) {
    if (!di.bpmnElement) {
      found.push(problem('DI_DANGLING', di.id, `图形元素 ${di.id} 指向的流程元素不存在`));
      continue;
    }
    const target = di.bpmnElement.id;
    if (di.$instanceOf('bpmndi:BPMNShape')) {
      shapes.set(target, (shapes.get(target) || 0) + 1);
      const b = di.bounds;
      if (!b || !(b.width > 0 && b.height > 0) || ![b.x, b.y].every(Number.isFinite)) {
        found.push(problem('DI_BAD_BOUNDS', target, `元素 ${target} 的图形尺寸无效（宽高须为正数）`));
      } else {
        const key = `${plane.id}:${b.x},${b.y},${b.width},${b.height}`;
        const other = bounds.get(key);
        if (other && other !== target) {
          found.push(problem('DI_SAME_BOUNDS', target, `元素 ${target} 与 ${other} 的图形位置和大小完全相同，会互相遮盖`));
        }
        bounds.set(key, target);
      }
    } else if (di.$instanceOf('bpmndi:BPMNEdge')) {
      edges.set(target, (edges.get(target) || 0) + 1);
      if ((di.waypoint || []).length < 2) {
        found.push(problem('DI_FEW_WAYPOINTS', target, `连线 ${target} 的路径点少于 2 个`));
      }
    }
  }
  for (const el of semanticElements(definitions)) {
    if (SHAPED.some((type) => el.$instanceOf(type))) found.push(...counted(el, shapes, 'SHAPE', '图形'));
    if (EDGED.some((type) => el.$instanceOf(type))) found.push(...counted(el, edges, 'EDGE', '连线图形'));
  }
  return found;
}

function counted(el, drawn, kind, noun) {
  const n = drawn.get(el.id) || 0;
  if (n === 0) return [problem(`DI_MISSING_${kind}`, el.id, `元素 ${el.id}（${el.$type}）没有${noun}，在建模器中看不到`)];
  if (n > 1) return [problem(`DI_DUPLICATE_${kind}`, el.id, `元素 ${el.id} 有 ${n} 个${noun}，应恰好一个`)];
  return [];
}

function textIds(xml) {
  return new Set([...xml.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
}

function extensions(definitions) {
  // Every tb: extension element, with its owner and its attributes, as comparable strings.
  const found = [];
  const visit = (el, owner) => {
    if (!el || typeof el !== 'object' || !el.$type) return;
    const id = el.id || owner;
    if (el.$type.startsWith('tb:')) {
      const attrs = Object.keys(el).filter((k) => !k.startsWith('$')).sort().map((k) => `${k}=${el[k]}`);
      found.push(`${owner} ${el.$type} ${attrs.join(' ')}`);
    }
    for (const [key, value] of Object.entries(el)) {
      if (key.startsWith('$') || key === 'di') continue;
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === 'object' && child.$parent === el) visit(child, id);
      }
    }
  };
  visit(definitions, null);
  return found.sort();
}

function missingFrom(before, after) {
  const left = [...after];
  return before.filter((item) => {
    const at = left.indexOf(item);
    if (at < 0) return true;
    left.splice(at, 1);
    return false;
  });
}

function tbTags(xml) {
  return [...xml.matchAll(/<tb:([\w-]+)|\stb:([\w-]+)=/g)].map((m) => (m[1] ? `<tb:${m[1]}>` : `tb:${m[2]}=`)).sort();
}

async function checkRoundTrip(definitions, xml, warned) {
  const moddle = newModdle();
  const { xml: saved } = await moddle.toXML(definitions, { format: true });
  const again = await moddle.fromXML(saved, 'bpmn:Definitions');
  const found = again.warnings.filter((w) => !warned.has(w.message))
    .map((w) => problem('IMPORT_WARNING', null, `保存后重新导入：${flat(w.message)}`));
  for (const id of [...textIds(xml)].filter((i) => !textIds(saved).has(i)).sort()) {
    found.push(problem('ROUNDTRIP_IDS', id, `元素 ${id} 在建模器保存后丢失`));
  }
  for (const lost of missingFrom(extensions(definitions), extensions(again.rootElement))) {
    found.push(problem('ROUNDTRIP_TB', lost.split(' ')[0], `扩展 ${lost} 在建模器保存后丢失或被改动`));
  }
  for (const lost of missingFrom(tbTags(xml), tbTags(saved))) {
    found.push(problem('ROUNDTRIP_TB', null, `扩展 ${lost} 在建模器保存后丢失`));
  }
  return found;
}

export async function checkDiagram(xml) {
  let imported;
  try {
    imported = await newModdle().fromXML(xml, 'bpmn:Definitions');
  } catch (error) {
    return [problem('IMPORT_FAILED', null, `无法导入：${flat(error.message)}`)];
  }
  const { rootElement, warnings } = imported;
  const found = checkNamespaces(xml);
  for (const w of warnings) {
    const element = w.element && w.element.id ? w.element.id : null;
    found.push(problem('IMPORT_WARNING', element, flat(w.message)));
  }
  const warned = new Set(warnings.map((w) => w.message));
  found.push(...checkInterchange(rootElement));
  try {
    found.push(...await checkRoundTrip(rootElement, xml, warned));
  } catch (error) {
    found.push(problem('ROUNDTRIP_FAILED', null, `建模器无法保存该流程图：${flat(error.message)}`));
  }
  return found;
}

function shown(path) {
  const rel = relative(ROOT, path);
  return rel.startsWith('..') ? path : rel;
}

function shippedDiagrams(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return shippedDiagrams(path);
    return name.endsWith('.bpmn') ? [path] : [];
  });
}

async function main(args) {
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  if (files.some((f) => f.startsWith('-'))) {
    console.error('用法：node tests/js/check_diagrams.mjs [--json] [FILE.bpmn ...]');
    return 2;
  }
  const paths = files.length ? files.map((f) => resolve(f)) : shippedDiagrams(join(ROOT, 'processes'));
  const problems = [];
  for (const path of paths) {
    const file = shown(path);
    const found = await checkDiagram(readFileSync(path, 'utf8'));
    problems.push(...found.map((p) => ({ file, ...p })));
  }
  if (json) {
    console.log(JSON.stringify({ files: paths.map(shown), problems }, null, 1));
  } else {
    problems.forEach((p) => console.log(`${p.file}\t${p.code}\t${p.element || '-'}\t${p.message}`));
    console.log(`${paths.length} 个流程图，${problems.length} 个问题`);
  }
  return problems.length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
