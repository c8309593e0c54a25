// Every value reaches the page as text (textContent, attribute values): nothing from the API is parsed as HTML.

/** el('td', {class: 'num', onclick: f}, 'text', otherNode...) */
export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function field(label, input) {
  const id = input.id || ('f-' + Math.random().toString(36).slice(2));
  input.id = id;
  return el('div', {}, el('label', { for: id }, label), input);
}

export function message(node, text, kind) {
  node.textContent = text;
  node.className = kind;
}

export function number(value) {
  return value === undefined || value === null ? '' : Number(value).toLocaleString('en');
}
