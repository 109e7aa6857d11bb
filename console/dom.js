// dom.js: the one way the console makes elements.
// RULE: never innerHTML/outerHTML/insertAdjacentHTML/document.write — data goes in only as textContent or attribute values, so `<script>` in a name or a log shows as text.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Set as properties, not attributes: `value` of a textarea, `hidden` that CSS and JS toggle.
const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'readOnly']);

function build(el, attrs, children) {
  for (const [key, val] of Object.entries(attrs || {})) {
    if (val === undefined || val === null || val === false) continue;
    if (key === 'text') el.textContent = String(val);
    else if (key === 'dataset') Object.assign(el.dataset, val);
    else if (key === 'on') for (const [type, fn] of Object.entries(val)) el.addEventListener(type, fn);
    else if (/^on/i.test(key)) throw new Error(`dom: ${key} would be an inline handler (CSP refuses them); use on: {...}`);
    else if (PROPS.has(key)) el[key] = val;
    else el.setAttribute(key, val === true ? '' : String(val));
  }
  append(el, children);
  return el;
}

// Children: nodes, strings (as text nodes), arrays of either; null/false are skipped.
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h('td', {class: 'name'}, child, ...): an HTML element.
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// s('rect', {x: 1}): an SVG element (createElementNS, so the browser draws it).
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

// A table inside a scrolling box, so a wide table never widens the page on a phone.
export function dataTable(id, headings) {
  const tbody = h('tbody');
  const table = h('table', { id },
    h('thead', null, h('tr', null, headings.map((t) => h('th', { scope: 'col', text: t })))),
    tbody);
  return { wrap: h('div', { class: 'table-wrap' }, table), table, tbody };
}

// An empty state is in the page only while there is nothing to list (so its presence
// means "none"), and the table box only while there is something.
export function toggleEmpty(empty, wrap, isEmpty) {
  wrap.hidden = isEmpty;
  if (!isEmpty) empty.remove();
  else if (!empty.isConnected) wrap.before(empty);
}

// Update tbody to hold one row per item, in order, keeping rows (and cells) that did not
// change: a refresh then never swaps out a link or button the user is about to click.
export function syncRows(tbody, items, keyOf, makeRow) {
  const old = new Map([...tbody.rows].map((tr) => [tr.dataset.key, tr]));
  const keep = new Set();
  items.forEach((item, i) => {
    const key = String(keyOf(item));
    const fresh = makeRow(item);
    fresh.dataset.key = key;
    let tr = old.get(key);
    if (tr && tr.cells.length === fresh.cells.length) {
      [...fresh.cells].forEach((cell, j) => {
        if (!tr.cells[j].isEqualNode(cell)) tr.cells[j].replaceWith(cell);
      });
    } else {
      if (tr) tr.remove();
      tr = fresh;
    }
    keep.add(key);
    if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
  });
  for (const [key, tr] of old) if (!keep.has(key)) tr.remove();
}
