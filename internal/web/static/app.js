// forgebridge web UI: opens the dialogs, loads branches and calls the REST
// API with the session cookie. Every page also works without it.
(function () {
  'use strict';
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const tokenCodes = ['pat_required', 'pat_invalid', 'token_rejected'];

  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      return { ok: false, error: { code: 'network', message: 'forgebridge could not be reached. Check the connection and try again.' } };
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    if (res.ok) return { ok: true, data };
    const error = (data && data.error) || { code: 'internal', message: 'The request failed (HTTP ' + res.status + ').' };
    return { ok: false, error };
  }

  // safeHref returns u as an absolute http(s) address, or null: an address
  // from a provider never becomes a javascript: (or other) link.
  function safeHref(u) {
    if (!u) return null;
    try {
      const url = new URL(u, location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }
  // linkTo is a link to u opening in a new tab, or the text alone when u is not http(s).
  function linkTo(u, text) {
    const href = safeHref(u);
    if (!href) return document.createTextNode(text);
    const a = document.createElement('a');
    a.href = href; a.target = '_blank'; a.rel = 'noopener'; a.textContent = text;
    return a;
  }

  function showError(root, message, link) {
    const box = $('[data-error]', root);
    box.textContent = message;
    if (safeHref(link)) box.append(' ', linkTo(link, 'Open it'));
    box.hidden = false;
  }
  function hideError(root) { $('[data-error]', root).hidden = true; }

  // Token fields: one token, or a CodeCommit access key pair.
  function showCredentialFields(root, kind) {
    const keys = kind === 'codecommit';
    $$('[data-for="token"]', root).forEach((el) => { el.hidden = keys; });
    $$('[data-for="keys"]', root).forEach((el) => { el.hidden = !keys; });
  }
  function credentialOf(form, kind) {
    const v = (name) => (form.elements.namedItem(name) ? form.elements.namedItem(name).value.trim() : '');
    if (kind === 'codecommit') {
      const c = { accessKeyId: v('accessKeyId'), secretAccessKey: v('secretAccessKey') };
      return c.accessKeyId || c.secretAccessKey ? c : null;
    }
    return v('token') ? { token: v('token') } : null;
  }

  // The token dialog, opened by any [data-token-dialog] element.
  const tokenDialog = $('#token-dialog');
  let tokenTarget = null;

  function openTokenDialog(trigger, onSaved) {
    const form = $('form', tokenDialog);
    form.reset();
    hideError(tokenDialog);
    tokenTarget = { id: trigger.dataset.tokenDialog, kind: trigger.dataset.kind, onSaved };
    $('[data-field="name"]', tokenDialog).textContent = trigger.dataset.name;
    $('[data-field="scopes"]', tokenDialog).textContent = trigger.dataset.scopes;
    // No known token page: the words stay, without a link.
    const help = $('[data-field="help"]', tokenDialog);
    const helpUrl = safeHref(trigger.dataset.helpUrl);
    if (helpUrl) help.href = helpUrl;
    else help.removeAttribute('href');
    showCredentialFields(tokenDialog, trigger.dataset.kind);
    tokenDialog.showModal();
    const first = $$('input', tokenDialog).find((i) => !i.closest('[hidden]'));
    if (first) first.focus();
  }

  if (tokenDialog) {
    $('form', tokenDialog).addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const body = credentialOf(form, tokenTarget.kind);
      if (!body) {
        showError(tokenDialog, 'Paste the token to save it.');
        return;
      }
      const button = $('button[type="submit"]', form);
      button.disabled = true;
      const res = await api('PUT', '/api/v1/me/tokens/' + encodeURIComponent(tokenTarget.id), body);
      button.disabled = false;
      if (!res.ok) {
        showError(tokenDialog, res.error.message);
        return;
      }
      form.reset();
      const target = tokenTarget;
      tokenTarget = null;
      tokenDialog.close();
      if (target.onSaved) target.onSaved(res.data);
      else location.reload();
    });
  }

  document.addEventListener('click', (ev) => {
    const trigger = ev.target.closest('[data-token-dialog]');
    if (trigger && tokenDialog && trigger.dataset.tokenDialog) {
      ev.preventDefault();
      const create = trigger.closest('dialog.create');
      openTokenDialog(trigger, create ? (entry) => create.tokenSaved(entry) : null);
      return;
    }
    const close = ev.target.closest('[data-close]');
    if (close) {
      ev.preventDefault();
      close.closest('dialog').close();
      return;
    }
    const open = ev.target.closest('[data-open-dialog]');
    if (open) {
      ev.preventDefault();
      document.getElementById(open.dataset.openDialog).openCreate();
    }
  });

  // The Create branch and Create pull request dialogs.
  $$('dialog.create').forEach((dialog) => {
    const form = $('form', dialog);
    const repo = $('[data-repo]', form);
    const submit = $('[data-submit]', form);
    const success = $('[data-success]', dialog);
    const cut = $('[data-branches-cut]', dialog);
    const limit = form.dataset.branchLimit;
    const issueKey = dialog.dataset.issue;
    const isBranch = dialog.dataset.kind === 'branch';
    let loadedFor = dialog.open ? repo.value : null; // the server drew the open dialog's branches
    let done = false;

    const chosen = () => repo.selectedOptions[0];

    async function loadBranches() {
      const opt = chosen();
      if (!opt || loadedFor === opt.value) return;
      loadedFor = opt.value;
      hideError(dialog); // a failure of an earlier load is no longer the news
      const selects = $$('[data-branches]', form);
      selects.forEach((s) => { s.disabled = true; });
      cut.hidden = true;
      const res = await api('GET', '/api/v1/repositories/' + encodeURIComponent(opt.value) + '/branches?limit=' + limit);
      if (loadedFor !== opt.value) return; // another repository was chosen meanwhile
      if (!res.ok) loadedFor = null; // tried again when the dialog is next opened or the repository chosen
      else cut.hidden = !res.data.next;
      selects.forEach((s) => {
        const keep = s.value;
        s.disabled = false;
        s.length = 1; // the first option is "default" / "named after the issue"
        if (!res.ok) return;
        const names = res.data.values.map((b) => b.name);
        names.forEach((n) => s.add(new Option(n, n)));
        if (names.includes(keep)) s.value = keep;
        else if (s.dataset.branches === 'target' && names.includes(opt.dataset.defaultBranch)) s.value = opt.dataset.defaultBranch;
        else if (s.dataset.branches === 'source') {
          // The key as a key: PROJ-1 is not in PROJ-12-x (as app.MentionsIssue).
          const key = issueKey.toUpperCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          const mentions = new RegExp('(^|[^A-Z0-9])' + key + '(?![0-9])');
          const match = names.find((n) => mentions.test(n.toUpperCase()));
          s.value = match || '';
        }
      });
      if (!res.ok) showError(dialog, res.error.message);
    }

    // Also open a draft pull request: off, saying why, where the chosen
    // repository cannot (no drafts on CodeCommit, pull requests switched off).
    function updateOneStep() {
      const box = $('[data-draft-pr]', form);
      if (!box) return;
      const opt = chosen();
      const off = opt ? opt.dataset.draftPrOff || '' : '';
      box.disabled = off !== '';
      if (off) box.checked = false;
      const why = $('[data-draft-pr-why]', form);
      why.textContent = off;
      why.hidden = off === '';
    }

    function updateSetup() {
      updateOneStep();
      const opt = chosen();
      const box = $('[data-setup]', dialog);
      const need = !!opt && opt.dataset.setupRequired === 'true';
      box.hidden = !need;
      showCredentialFields(form, opt ? opt.dataset.kind : '');
      if (!need) return;
      const state = opt.dataset.tokenState;
      $('[data-setup-text]', box).textContent = state === 'none'
        ? opt.dataset.name + ' requires your own personal access token, and you have not set one.'
        : 'Your personal access token for ' + opt.dataset.name + ' is ' + state + '; set up a new one.';
      const link = $('[data-setup-link]', box);
      ['tokenDialog', 'name', 'kind', 'helpUrl', 'scopes'].forEach((k) => { link.dataset[k] = opt.dataset[k]; });
      link.href = '/tokens/' + encodeURIComponent(opt.dataset.tokenDialog);
    }

    // markToken records what is now known of the person's token for an
    // integration, in both dialogs' repository lists.
    function markToken(integrationId, state, setupRequired) {
      $$('dialog.create option[data-token-dialog]').forEach((o) => {
        if (o.dataset.tokenDialog !== integrationId) return;
        o.dataset.tokenState = state;
        o.dataset.setupRequired = String(setupRequired);
      });
      $$('dialog.create').forEach((d) => d.refreshSetup());
    }

    dialog.refreshSetup = updateSetup;
    dialog.tokenSaved = (entry) => {
      hideError(dialog);
      markToken(entry.integrationId, entry.status || 'valid', false);
      submit.focus();
    };
    dialog.openCreate = () => {
      if (!dialog.open) dialog.showModal();
      updateSetup();
      loadBranches();
      repo.focus();
    };

    repo.addEventListener('change', () => {
      hideError(dialog);
      updateSetup();
      loadBranches();
    });

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (done) return;
      hideError(dialog);
      const opt = chosen();
      const f = (name) => form.elements.namedItem(name);
      const body = { repositoryId: repo.value };
      if (isBranch) {
        Object.assign(body, { baseBranch: f('baseBranch').value, name: f('name').value.trim() });
        const oneStep = f('pullRequest');
        if (oneStep && oneStep.checked && !oneStep.disabled) body.pullRequest = { draft: true };
      } else {
        Object.assign(body, { sourceBranch: f('sourceBranch').value, targetBranch: f('targetBranch').value,
          title: f('title').value.trim(), description: f('description').value, draft: f('draft').checked });
      }
      const oneOff = credentialOf(form, opt ? opt.dataset.kind : '');
      if (oneOff) Object.assign(body, oneOff, { rememberToken: f('rememberToken').checked });
      submit.disabled = true;
      const path = '/api/v1/issues/' + encodeURIComponent(issueKey) + (isBranch ? '/branches' : '/pull-requests');
      const res = await api('POST', path, body);
      submit.disabled = false;
      if (!res.ok) {
        const e = res.error;
        showError(dialog, e.message, e.existing && e.existing.webUrl);
        if (tokenCodes.includes(e.code) && e.integrationId && !oneOff) markToken(e.integrationId, 'invalid', true);
        return;
      }
      done = true;
      $$('input[type="password"]', form).forEach((i) => { i.value = ''; });
      const d = res.data;
      const by = d.actor.type === 'integration'
        ? ' by the integration\'s service account ' + d.actor.login + '.'
        : ' by ' + d.actor.login + ' with your personal access token.';
      const a = linkTo(d.webUrl, isBranch ? d.name : '#' + d.number + ' ' + d.title);
      success.replaceChildren(isBranch ? 'Branch ' : 'Pull request ', a, (isBranch ? ' created in ' : ' opened in ') +
        opt.textContent.split(' · ')[0] + by);
      if (isBranch && d.pullRequest) {
        const pr = d.pullRequest;
        success.append(' ' + (pr.draft ? 'Draft pull request ' : 'Pull request '),
          linkTo(pr.webUrl, '#' + pr.number + ' ' + pr.title), ' opened.');
      } else if (isBranch && d.pullRequestError) {
        const warn = document.createElement('span');
        warn.dataset.pullRequestError = d.pullRequestError.code;
        warn.textContent = ' The pull request was not opened: ' + d.pullRequestError.message;
        success.append(warn);
      }
      success.hidden = false;
      submit.hidden = true;
      $('[data-close]', form).textContent = 'Close';
      $('[data-close]', form).focus();
    });

    // The development panel shows what was created once the dialog closes.
    dialog.addEventListener('close', () => { if (done) location.reload(); });

    if (dialog.open) { // drawn open by the server: make it modal
      dialog.close();
      dialog.openCreate();
    }
  });

  // Add / Edit integration: show the fields of the chosen kind.
  const integrationForm = $('[data-integration-form]');
  if (integrationForm) {
    const kind = $('[data-kind-value]', integrationForm);
    const projects = integrationForm.elements.namedItem('projects');
    const sync = () => {
      $$('[data-kinds]', integrationForm).forEach((el) => {
        el.hidden = !el.dataset.kinds.split(' ').includes(kind.value);
      });
      projects.disabled = integrationForm.elements.namedItem('projectScope').value !== 'chosen';
    };
    integrationForm.addEventListener('change', sync);
    sync();
  }

  document.addEventListener('submit', (ev) => {
    const msg = ev.target.dataset && ev.target.dataset.confirm;
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
})();
