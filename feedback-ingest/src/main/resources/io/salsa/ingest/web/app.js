// The rater page: fetch a task, show the two responses, take the choice (keys 1 / 2 / 0), hold it for an undo
// window, then send it; skip (S) passes on a task. No framework and no CDN: this file and two others are all the
// page needs.
//
// Why the undo window is on the page and not on the server: an answer becomes a Preference event the moment
// Kafka acknowledges it, and the feedback topic is an append-only history that reward models are trained from,
// so there is nothing to withdraw it with. The page therefore holds an answer for UNDO_SECONDS and sends it only
// then; Undo (U or Esc) inside the window means nothing was ever sent. Closing the page inside the window drops
// the answer: the task is still open on the server and is shown again on the next visit.
(function () {
  'use strict';
  const UNDO_SECONDS = 5;
  const RETRY_FIRST_MS = 500;
  const RETRY_MAX_MS = 5000;
  const LABELS = { A: 'A is better', B: 'B is better', tie: 'Tie' };
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
  let token = sessionStorage.getItem('salsa.token') || '';
  let task = null;
  let busy = false;
  let pending = null; // { choice, timer } while an answer waits out its undo window
  let retrying = false; // an alert about a lost connection or a busy service is showing

  function status(text) {
    $('status').textContent = text || '';
  }

  // errors go to the role=alert region so that a screen reader speaks them at once
  function alertMessage(text) {
    $('alert').textContent = text || '';
  }

  function setBusy(b) {
    busy = b;
    document.querySelectorAll('.choices button').forEach((el) => { el.disabled = b; });
  }

  // One request, repeated until the server gives an answer that is not "try again". A failed fetch (the service
  // is down or restarting, the network is gone), a 503 and a 429 say so in the alert region and are retried with
  // exponential backoff and jitter, so the page recovers by itself instead of staying stuck with its buttons
  // disabled. Repeating a POST is safe: answers carry an idempotency key and a skip is idempotent.
  async function api(method, path, body, extraHeaders) {
    const headers = Object.assign({ 'Authorization': 'Bearer ' + token }, extraHeaders || {});
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const init = { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) };
    for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      let res = null;
      let data = null;
      try {
        res = await fetch(path, init);
        try { data = await res.json(); } catch (e) { data = null; }
      } catch (e) {
        res = null;
      }
      if (res && res.status !== 503 && res.status !== 429) {
        if (retrying) {
          retrying = false;
          alertMessage('');
          status('Connection restored.');
        }
        return { status: res.status, data };
      }
      let wait = Math.round(delay * (0.8 + 0.4 * Math.random()));
      const retryAfter = res ? Number(res.headers.get('Retry-After')) : 0;
      if (retryAfter > 0) wait = Math.max(wait, Math.min(retryAfter * 1000, 60000));
      retrying = true;
      const again = ' retrying in ' + Math.max(1, Math.round(wait / 1000)) + ' s…';
      if (!res) {
        alertMessage('Connection lost;' + again);
      } else {
        alertMessage((res.status === 429 ? 'Too many requests' : 'The service cannot save right now') + ' ('
          + ((data && data.message) || ('HTTP ' + res.status)) + ');' + again);
      }
      await sleep(wait);
    }
  }

  function showSignin(message) {
    $('work').hidden = true;
    $('signin').hidden = false;
    alertMessage(message || '');
    $('token').focus();
  }

  // A chat prompt is shown turn by turn (role, then the text), a plain one as its text; every string goes in
  // through textContent, so whatever a prompt contains is shown as text, never run as markup. Returns what the
  // announcement says of the prompt.
  function showPrompt(t) {
    const list = $('conversation');
    list.replaceChildren();
    const turns = Array.isArray(t.messages) ? t.messages : [];
    if (turns.length === 0) {
      $('prompt').textContent = t.prompt;
      $('prompt').hidden = false;
      list.hidden = true;
      return t.prompt;
    }
    turns.forEach((turn) => {
      const item = document.createElement('li');
      item.className = 'turn turn-' + String(turn.role).replace(/[^a-z]/g, '');
      const role = document.createElement('div');
      role.className = 'role';
      role.textContent = turn.role;
      const content = document.createElement('pre');
      content.textContent = turn.content;
      item.append(role, content);
      list.append(item);
    });
    $('prompt').textContent = '';
    $('prompt').hidden = true;
    list.hidden = false;
    const last = turns[turns.length - 1];
    return 'a conversation of ' + turns.length + ' turns, ending with ' + last.role + ': ' + last.content;
  }

  async function loadTask(note) {
    setBusy(true);
    const { status: code, data } = await api('GET', '/api/tasks/next');
    if (code === 401) { sessionStorage.removeItem('salsa.token'); showSignin('That token was not accepted.'); return; }
    if (code !== 200) {
      alertMessage(((data && data.message) || ('could not load a task (HTTP ' + code + ')')) + '; trying again…');
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
    const promptSaid = showPrompt(task);
    $('response-a').textContent = task.a.text;
    $('response-b').textContent = task.b.text;
    $('reason').value = '';
    $('signin').hidden = true;
    $('work').hidden = false;
    alertMessage('');
    status(note || '');
    setBusy(false);
    // announce the new task to screen readers and move the focus to it, so the keys act on what is announced
    $('announcer').textContent = 'New task (' + data.answered + ' answered so far). Prompt: ' + promptSaid;
    $('task-heading').focus();
  }

  function choose(choice) {
    if (!task || busy || pending) return;
    setBusy(true);
    const taskId = task.taskId;
    const reason = $('reason').value.trim();
    pending = {
      choice,
      timer: setTimeout(() => {
        pending = null;
        $('undo').hidden = true;
        send(taskId, choice, reason);
      }, UNDO_SECONDS * 1000),
    };
    $('undo-text').textContent = 'Sending “' + LABELS[choice] + '” in ' + UNDO_SECONDS + ' s.';
    $('undo').hidden = false;
    status('');
    $('undo-button').focus();
  }

  function undo() {
    if (!pending) return;
    clearTimeout(pending.timer);
    pending = null;
    $('undo').hidden = true;
    setBusy(false);
    status('Answer withdrawn; nothing was sent. Choose again.');
    $('task-heading').focus();
  }

  async function send(taskId, choice, reason) {
    status('Saving…');
    const body = { taskId, choice };
    if (reason) body.reason = reason;
    // one key per task: a retry after a lost connection can never record the answer twice
    const { status: code, data } = await api('POST', '/api/preferences', body, { 'Idempotency-Key': 'page:' + taskId });
    if (code === 201) {
      $('answered').textContent = String(Number($('answered').textContent) + 1);
      await loadTask('Saved.');
      return;
    }
    if (code === 401) { showSignin('Your token is no longer accepted.'); return; }
    if (code === 404 || code === 409) {
      // the task expired, was issued before a restart of the service, or was closed elsewhere: take the next one
      await loadTask('That task is no longer open (' + ((data && data.message) || ('HTTP ' + code))
        + '); here is a new one.');
      return;
    }
    alertMessage((data && data.message) || ('could not save (HTTP ' + code + ')'));
    setBusy(false);
  }

  async function skip() {
    if (!task || busy || pending) return;
    setBusy(true);
    const { status: code, data } = await api('POST', '/api/tasks/skip', { taskId: task.taskId });
    if (code === 401) { showSignin('Your token is no longer accepted.'); return; }
    if (code === 200 || code === 404) {
      await loadTask(code === 200 ? 'Skipped; another rater can take that pair.' : 'That task was no longer open.');
      return;
    }
    alertMessage((data && data.message) || ('could not skip (HTTP ' + code + ')'));
    setBusy(false);
  }

  document.addEventListener('keydown', (e) => {
    if (e.target && (e.target.tagName === 'TEXTAREA' || e.target.tagName === 'INPUT')) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const choice = { '1': 'A', '2': 'B', '0': 'tie' }[e.key];
    if (choice) { e.preventDefault(); choose(choice); return; }
    const key = e.key.toLowerCase();
    if (key === 's') { e.preventDefault(); skip(); } else if (key === 'u' || key === 'escape') { e.preventDefault(); undo(); }
  });
  document.querySelectorAll('.choices button[data-choice]').forEach((el) => {
    el.addEventListener('click', () => choose(el.dataset.choice));
  });
  $('skip').addEventListener('click', skip);
  $('undo-button').addEventListener('click', undo);
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('salsa.token', token);
    $('token').blur();
    loadTask();
  });

  if (token) { loadTask(); } else { showSignin(); }
}());
