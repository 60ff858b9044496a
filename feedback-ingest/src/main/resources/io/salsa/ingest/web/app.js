// The rater page: fetch a task, show the two responses, send the choice (keys 1 / 2 / 0), repeat.
// No framework and no CDN: this file and two others are all the page needs.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem('salsa.token') || '';
  let task = null;
  let busy = false;

  function status(text, isError) {
    $('status').textContent = text || '';
    $('status').className = isError ? 'error' : '';
  }

  function setBusy(b) {
    busy = b;
    document.querySelectorAll('.choices button').forEach((el) => { el.disabled = b; });
  }

  async function api(method, path, body, extraHeaders) {
    const headers = Object.assign({ 'Authorization': 'Bearer ' + token }, extraHeaders || {});
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { status: res.status, data };
  }

  function showSignin(message) {
    $('work').hidden = true;
    $('signin').hidden = false;
    status(message || '', !!message);
    $('token').focus();
  }

  async function loadTask() {
    setBusy(true);
    const { status: code, data } = await api('GET', '/api/tasks/next');
    if (code === 401) { sessionStorage.removeItem('salsa.token'); showSignin('That token was not accepted.'); return; }
    if (code !== 200) {
      status((data && data.message) || ('could not load a task (HTTP ' + code + ')'), true);
      setTimeout(loadTask, 2000);
      return;
    }
    $('answered').textContent = String(data.answered);
    if (!data.task) {
      task = null;
      $('task').dataset.taskId = '';
      status('No comparison available yet; checking again shortly…');
      setTimeout(loadTask, 1000 * (data.retryAfterSeconds || 2));
      return;
    }
    task = data.task;
    $('task').dataset.taskId = task.taskId;
    $('prompt').textContent = task.prompt;
    $('response-a').textContent = task.a.text;
    $('response-b').textContent = task.b.text;
    $('reason').value = '';
    $('signin').hidden = true;
    $('work').hidden = false;
    status('');
    setBusy(false);
  }

  async function answer(choice, attempt) {
    if (!task || (busy && !attempt)) return;
    setBusy(true);
    const body = { taskId: task.taskId, choice };
    const reason = $('reason').value.trim();
    if (reason) body.reason = reason;
    // one key per task: a retry after a timeout can never record the answer twice
    const { status: code, data } = await api('POST', '/api/preferences', body, { 'Idempotency-Key': 'page:' + task.taskId });
    if (code === 201) {
      $('answered').textContent = String(Number($('answered').textContent) + 1);
      status('Saved.');
      await loadTask();
      return;
    }
    if ((code === 503 || code === 429) && (attempt || 0) < 30) {
      status('Saving is delayed (' + ((data && data.message) || code) + '); retrying…', true);
      setTimeout(() => answer(choice, (attempt || 0) + 1), 1000);
      return;
    }
    if (code === 401) { showSignin('Your token is no longer accepted.'); return; }
    status((data && data.message) || ('could not save (HTTP ' + code + ')'), true);
    if (code === 404 || code === 409) { await loadTask(); return; }
    setBusy(false);
  }

  document.addEventListener('keydown', (e) => {
    if (e.target && (e.target.tagName === 'TEXTAREA' || e.target.tagName === 'INPUT')) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const choice = { '1': 'A', '2': 'B', '0': 'tie' }[e.key];
    if (choice) { e.preventDefault(); answer(choice); }
  });
  document.querySelectorAll('.choices button').forEach((el) => {
    el.addEventListener('click', () => answer(el.dataset.choice));
  });
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('salsa.token', token);
    $('token').blur();
    loadTask();
  });

  if (token) { loadTask(); } else { showSignin(); }
}());
