// Building the page's DOM. Text always goes in as text nodes (textContent),
// never as markup: the page shows memory, which is anyone's words.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'onclick' || name === 'onsubmit' || name === 'onchange') {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'text') {
      node.textContent = String(value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// A time as the person reads it, in their locale; "" for none.
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function say(text) {
  const status = document.getElementById('status');
  status.textContent = text;
}

// An error shown where the person is: a role="alert" line right after
// near (the form or button that was acted on), which takes the focus, so
// it is in view and read out; a later error there replaces it. Without
// near (nothing left to stand beside) the status line says it.
export function showError(near, text) {
  if (!near || !near.isConnected) {
    const status = document.getElementById('status');
    status.textContent = text;
    status.focus();
    return status;
  }
  const next = near.nextElementSibling;
  if (next && next.classList.contains('error')) next.remove();
  const line = el('p', { class: 'error', role: 'alert', tabindex: '-1' }, text);
  near.after(line);
  line.focus();
  return line;
}

// A button that asks once more before it acts: the question and "Yes" take
// its place, with focus on "Yes" (Escape or "Cancel" puts it back). name:
// its accessible name when its label alone does not say what it acts on
// ("Delete the fact 'city'"). action(wrap) may resolve to false (it failed
// and said so beside wrap): the button comes back, the focus stays on the
// error.
export function confirmButton(label, question, action, extraClass, name) {
  const wrap = el('span', { class: 'confirm' });
  const button = el('button', { type: 'button', class: extraClass || 'danger', 'aria-label': name }, label);
  const back = () => { clear(wrap).append(button); button.focus(); };
  button.addEventListener('click', () => {
    const yes = el('button', { type: 'button', class: 'danger' }, 'Yes, ' + label.toLowerCase());
    const no = el('button', { type: 'button' }, 'Cancel');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      if ((await action(wrap)) === false && wrap.isConnected) clear(wrap).append(button);
    });
    no.addEventListener('click', back);
    const box = el('span', { role: 'group', 'aria-label': question }, el('span', { class: 'question' }, question), ' ', yes, ' ', no);
    box.addEventListener('keydown', (e) => { if (e.key === 'Escape') back(); });
    clear(wrap).append(box);
    yes.focus();
  });
  wrap.append(button);
  return wrap;
}

// A file the browser saves, made here (nothing is fetched for it).
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
