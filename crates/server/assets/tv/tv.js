// The TV checkout (served by crates/server/src/routes/tv/page.rs). Remote only:
// arrow keys move the focus between buttons, Enter presses one; no pointer, no
// typed text. "Buy" opens the checkout session through the ACP API with the
// placement's publishable key, holding the stock, then shows a hand-off code and
// its QR (drawn by the server) for the shopper's phone, and follows the session
// until it is paid. A returning shopper may instead confirm on the TV: their
// email on an on-screen keyboard, the 6-digit code emailed to them on a number
// pad, then the address and card saved with the merchant pay the held session
// (the widget's calls: /widget/shoppers/codes, verify, prefill, then complete
// with the shopper token as the credential). Text is set with textContent only;
// the one markup inserted is the server's own QR SVG, parsed as XML.
'use strict';
(function () {
  var cfg = JSON.parse(document.getElementById('anycart-config').textContent);
  var root = document.getElementById('tv');
  var POLL_MS = 2000;
  var BACK_KEYS = ['Escape', 'Backspace', 'GoBack', 'BrowserBack'];
  var BACK_KEY_CODES = [461, 10009, 8, 27]; // webOS, Tizen, and the usual two
  var SANDBOX_CARD_HANDLER = 'dev.anycart.sandbox.card';
  var EMAIL_MAX = 254;
  var CODE_DIGITS = cfg.sign_in_code_digits || 6;
  // The on-screen keyboard for an email: one grid, moved through with the arrows.
  var EMAIL_KEYS = [
    ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'],
    ['q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p'],
    ['a', 's', 'd', 'f', 'g', 'h', 'j', 'k', 'l', '@'],
    ['z', 'x', 'c', 'v', 'b', 'n', 'm', '.', '_', '-'],
    ['.com', '+', 'delete', 'clear'],
  ];
  var PAD_KEYS = [['1', '2', '3'], ['4', '5', '6'], ['7', '8', '9'], ['delete', '0', 'clear']];
  var KEY_LABELS = { delete: '\u232b Delete', clear: 'Clear' };
  var st = { variant: pickVariant(), quantity: Math.max(1, cfg.quantity || 1), session: null, handoff: null, timer: 0, busy: false, email: '', code: '' };

  function pickVariant() {
    var vs = cfg.product.variants;
    var chosen = vs.filter(function (v) { return v.id === cfg.variant_id; })[0];
    return chosen || vs.filter(function (v) { return v.available > 0; })[0] || vs[0];
  }

  function h(tag, attrs) {
    var el = document.createElement(tag);
    var kids = Array.prototype.slice.call(arguments, 2);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'onclick') el.addEventListener('click', attrs[k]);
      else el.setAttribute(k, attrs[k]);
    });
    kids.forEach(function (k) { if (k != null) el.append(k); });
    return el;
  }

  function money(amount, v) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency: v.currency.toUpperCase() }).format(amount / Math.pow(10, v.exponent));
    } catch (e) {
      return (amount / Math.pow(10, v.exponent)).toFixed(v.exponent) + ' ' + v.currency.toUpperCase();
    }
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(16)), function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function api(method, path, body) {
    var headers = { Authorization: 'Bearer ' + cfg.publishable_key, 'API-Version': cfg.api_version };
    if (method === 'POST') { headers['Content-Type'] = 'application/json'; headers['Idempotency-Key'] = uuid(); }
    return fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (!res.ok) throw new Error(json.message || 'Something went wrong. Please try again.');
        return json;
      });
    });
  }

  function show(screen, focusId) {
    root.replaceChildren.apply(root, screen);
    root.dataset.screen = focusId || '';
    focusDefault();
  }

  // The screen's main button (a frame that is not focused yet keeps no focus, so
  // this runs again when the TV app hands the focus to this page).
  function focusDefault() {
    var id = root.dataset.screen;
    var target = (id && document.getElementById(id)) || root.querySelector('button');
    if (target) target.focus();
  }

  function focusLost() {
    return !document.activeElement || !root.contains(document.activeElement);
  }

  function productScreen(error) {
    var v = st.variant;
    var media = h('div', { class: 'media' }, cfg.product.image_url || v.image_url ? h('img', { src: v.image_url || cfg.product.image_url, alt: '' }) : null);
    var variants = cfg.product.variants.length > 1 ? h('div', { class: 'row', role: 'group', 'aria-label': 'Options' }) : null;
    cfg.product.variants.forEach(function (x) {
      if (!variants) return;
      variants.append(h('button', { 'data-variant': x.id, 'aria-pressed': String(x.id === v.id), onclick: function () { st.variant = x; productScreen(); focus('[data-variant="' + x.id + '"]'); } }, x.title));
    });
    var cap = Math.min(cfg.quantity_max, v.max_quantity_per_order || cfg.quantity_max, Math.max(1, v.available));
    var qty = h('div', { class: 'row', role: 'group', 'aria-label': 'Quantity' },
      h('button', { id: 'less', 'aria-label': 'One less', onclick: function () { setQty(st.quantity - 1, 'less'); } }, '−'),
      h('span', { class: 'qty', 'data-testid': 'quantity' }, String(st.quantity)),
      h('button', { id: 'more', 'aria-label': 'One more', onclick: function () { setQty(Math.min(cap, st.quantity + 1), 'more'); } }, '+'));
    var soldOut = v.available <= 0;
    var panel = h('div', { class: 'panel' },
      h('h1', {}, cfg.product.title),
      h('div', { class: 'price' }, money(v.amount * st.quantity, v)),
      variants, qty,
      h('div', { class: 'row' }, h('button', { id: 'buy', class: 'primary', onclick: buy }, soldOut ? 'Sold out' : 'Buy')),
      error ? h('p', { class: 'error', role: 'alert' }, error) : h('p', { class: 'muted' }, 'Use the arrows to choose and OK to buy. You pay on your phone.'));
    show([media, panel], 'buy');
    if (soldOut) document.getElementById('buy').disabled = true;
  }

  function setQty(n, keep) {
    st.quantity = Math.max(1, n);
    productScreen();
    focus('#' + keep);
  }

  function focus(sel) {
    var el = root.querySelector(sel);
    if (el) el.focus();
  }

  function buy() {
    if (st.busy) return;
    st.busy = true;
    var v = st.variant;
    api('POST', '/checkout_sessions', { currency: v.currency, line_items: [{ id: v.id, quantity: st.quantity }], capabilities: {} })
      .then(function (s) {
        st.session = s;
        var basket = (s.messages || []).filter(function (m) { return m.resolution === 'requires_buyer_input' && (m.param || '').indexOf('$.line_items') === 0; });
        if (basket.length) {
          // Nothing to buy: give the stock back at once.
          return cancelSession().then(function () { throw new Error(basket[0].content); });
        }
        return api('POST', '/widget/handoffs', { checkout_session_id: s.id }).then(handoffScreen);
      })
      .catch(function (e) { productScreen(e.message); })
      .then(function () { st.busy = false; });
  }

  function handoffScreen(ho) {
    var qr = h('div', { class: 'qr', 'aria-label': 'QR code to continue on your phone', role: 'img' });
    var svg = new DOMParser().parseFromString(ho.qr_svg, 'image/svg+xml').documentElement;
    if (svg && svg.nodeName === 'svg') qr.append(document.importNode(svg, true));
    var panel = h('div', { class: 'panel' },
      h('h1', {}, 'Finish on your phone'),
      h('p', {}, 'Scan the code with your phone\u2019s camera, or go to ', h('strong', {}, ho.short_url), ' and enter'),
      h('div', { class: 'code', 'data-testid': 'handoff-code', 'data-code': ho.code }, ho.code_display),
      h('p', { class: 'status', 'data-testid': 'tv-status' }, 'Your items are held for you. Waiting for your phone\u2026'),
      h('div', { class: 'row' }, h('button', { id: 'cancel', onclick: function () { cancelSession().then(function () { productScreen(); }); } }, 'Cancel')));
    panel.querySelector('.row').prepend(h('button', { id: 'returning', onclick: function () { emailScreen(); } }, 'I\u2019ve bought here before'));
    st.handoff = ho;
    show([qr, panel], 'cancel');
    follow();
  }

  // A grid of keys (`rows` of key names) with `actions` as its last row; every
  // button knows its row and column, so the arrows move through it as a grid.
  function keyGrid(rows, actions, press) {
    var grid = h('div', { class: 'keys', role: 'group', 'aria-label': 'Keyboard' });
    rows.concat([actions]).forEach(function (keys, r) {
      var row = h('div', { class: 'keyrow' });
      keys.forEach(function (k, c) {
        var b = typeof k === 'string'
          ? h('button', { 'data-key': k, onclick: function () { press(k); } }, KEY_LABELS[k] || k)
          : h('button', { id: k.id, class: k.primary ? 'primary' : '', onclick: k.onclick }, k.label);
        b.setAttribute('data-row', String(r));
        b.setAttribute('data-col', String(c));
        row.append(b);
      });
      grid.append(row);
    });
    return grid;
  }

  // Up/Down keep the column as far as the next row has one; the edges stop.
  function moveInGrid(from, dx, dy) {
    var r = Number(from.getAttribute('data-row')) + dy;
    var c = Number(from.getAttribute('data-col')) + dx;
    var row = root.querySelectorAll('[data-row="' + r + '"]');
    if (!row.length || c < 0) return;
    var to = row[Math.min(c, row.length - 1)];
    if (dx && c >= row.length) return;
    to.focus();
  }

  function field(testid, text, placeholder) {
    return h('div', { class: 'field', 'data-testid': testid, 'aria-live': 'polite' }, text || h('span', { class: 'muted' }, placeholder));
  }

  function problem(error) {
    return error ? h('p', { class: 'error', role: 'alert' }, error) : null;
  }

  function emailScreen(error) {
    var panel = h('div', { class: 'panel wide' },
      h('h1', {}, 'Your email'),
      h('p', { class: 'muted' }, 'We\u2019ll email you a code to confirm it\u2019s you, then pay with your saved address and card.'),
      field('tv-email', st.email, 'name@example.com'),
      problem(error),
      keyGrid(EMAIL_KEYS, [
        { id: 'send-code', label: 'Email me a code', primary: true, onclick: sendCode },
        { id: 'back', label: 'Back', onclick: backToHandoff },
      ], function (k) {
        if (k === 'delete') st.email = st.email.slice(0, -1);
        else if (k === 'clear') st.email = '';
        else st.email = (st.email + k).slice(0, EMAIL_MAX);
        document.querySelector('[data-testid="tv-email"]').replaceChildren(st.email || h('span', { class: 'muted' }, 'name@example.com'));
      }));
    show([panel], 'send-code');
    focus('[data-key="1"]');
  }

  function codeScreen(error) {
    var panel = h('div', { class: 'panel wide' },
      h('h1', {}, 'Enter the code'),
      h('p', {}, 'We emailed a ' + CODE_DIGITS + '-digit code to ', h('strong', {}, st.email), '.'),
      field('tv-otp', st.code.replace(/./g, '\u25cf '), CODE_DIGITS + ' digits'),
      problem(error),
      keyGrid(PAD_KEYS, [
        { id: 'confirm', label: 'Confirm and pay', primary: true, onclick: confirmCode },
        { id: 'back', label: 'Back', onclick: function () { emailScreen(); } },
      ], function (k) {
        if (k === 'delete') st.code = st.code.slice(0, -1);
        else if (k === 'clear') st.code = '';
        else if (st.code.length < CODE_DIGITS) st.code += k;
        document.querySelector('[data-testid="tv-otp"]').replaceChildren(st.code.replace(/./g, '\u25cf ') || h('span', { class: 'muted' }, CODE_DIGITS + ' digits'));
        document.querySelector('[data-testid="tv-otp"]').setAttribute('data-length', String(st.code.length));
        if (st.code.length === CODE_DIGITS) focus('#confirm');
      }));
    show([panel], 'confirm');
    focus('[data-key="1"]');
  }

  // `error` is a sentence to show, or the Back button's click event (nothing to say).
  function backToHandoff(error) {
    var said = typeof error === 'string' ? error : '';
    if (!st.session || !st.handoff) return productScreen(said);
    handoffScreen(st.handoff);
    if (said) root.querySelector('.status').replaceWith(problem(said));
  }

  function sendCode() {
    if (st.busy) return;
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(st.email)) return emailScreen('Type your whole email address, like name@example.com.');
    st.busy = true;
    api('POST', '/widget/shoppers/codes', { placement_id: cfg.placement_id, email: st.email })
      .then(function () { st.code = ''; codeScreen(); }, function (e) { emailScreen(e.message); })
      .then(function () { st.busy = false; });
  }

  // The code → the shopper token → the session filled from the saved details →
  // paid with the saved card (the token is the credential; the card itself
  // never reaches the TV). Anything short of that: finish on the phone.
  function confirmCode() {
    if (st.busy || !st.session) return;
    if (st.code.length !== CODE_DIGITS) return codeScreen('Enter all ' + CODE_DIGITS + ' digits.');
    st.busy = true;
    var session = st.session;
    api('POST', '/widget/shoppers/verify', { placement_id: cfg.placement_id, email: st.email, code: st.code })
      .then(function (v) {
        if (!v.profile) throw new Error('Nothing is saved for this email yet. Scan the code to finish on your phone.');
        return api('POST', '/widget/shoppers/prefill', { checkout_session_id: session.id, shopper_token: v.shopper_token }).then(function (s) {
          if (s.status !== 'ready_for_payment') throw new Error('Your saved details are not enough for this order. Scan the code to finish on your phone.');
          return payWithSaved(s, v.shopper_token);
        });
      }, function (e) { st.code = ''; codeScreen(e.message); return null; })
      .then(function (done) {
        if (!done) return;
        if (done.status === 'completed') return paidScreen(done);
        backToHandoff(done.messages && done.messages[0] && done.messages[0].content || 'The payment did not go through. Scan the code to finish on your phone.');
      })
      .catch(function (e) { backToHandoff(e.message); })
      .then(function () { st.busy = false; });
  }

  function payWithSaved(s, shopperToken) {
    var stripe = cfg.payment && cfg.payment.provider === 'stripe';
    var handler = (s.capabilities.payment.handlers || []).filter(function (x) { return stripe ? x.psp === 'stripe' : x.name === SANDBOX_CARD_HANDLER; })[0];
    if (!handler) throw new Error('Card payments are not available here. Scan the code to finish on your phone.');
    return api('POST', '/checkout_sessions/' + encodeURIComponent(s.id) + '/complete', {
      payment_data: { handler_id: handler.id, instrument: { type: 'card', credential: { type: stripe ? 'card' : 'spt', token: shopperToken } } },
    });
  }

  function follow() {
    clearTimeout(st.timer);
    if (!st.session) return;
    var id = st.session.id;
    st.timer = setTimeout(function () {
      api('GET', '/checkout_sessions/' + encodeURIComponent(id)).then(function (s) {
        if (!st.session || st.session.id !== id) return; // paid on the TV meanwhile, or cancelled
        if (s.status === 'completed') return paidScreen(s);
        if (s.status === 'canceled' || s.status === 'expired') return endedScreen();
        follow();
      }, follow);
    }, POLL_MS);
  }

  function paidScreen(s) {
    st.session = null;
    st.handoff = null;
    st.code = '';
    clearTimeout(st.timer);
    var number = s.order && s.order.order_number ? s.order.order_number : '';
    show([h('div', { class: 'panel' },
      h('p', { class: 'paid', 'data-testid': 'tv-paid' }, 'Paid \u2014 order #' + number),
      h('p', {}, 'Thank you! Your confirmation is on its way to your email.'),
      h('div', { class: 'row' }, h('button', { id: 'done', onclick: function () { productScreen(); } }, 'Done')))], 'done');
  }

  function endedScreen() {
    st.session = null;
    st.handoff = null;
    show([h('div', { class: 'panel' },
      h('h1', { 'data-testid': 'tv-ended' }, 'This checkout has ended'),
      h('p', {}, 'The hold ran out or the checkout was cancelled. Nothing was charged.'),
      h('div', { class: 'row' }, h('button', { id: 'again', onclick: function () { productScreen(); } }, 'Start again')))], 'again');
  }

  function cancelSession() {
    var s = st.session;
    st.session = null;
    st.handoff = null;
    clearTimeout(st.timer);
    if (!s) return Promise.resolve();
    return api('POST', '/checkout_sessions/' + encodeURIComponent(s.id) + '/cancel', {}).catch(function () { return undefined; });
  }

  // Spatial navigation: the nearest button in the arrow's direction, first
  // within a 45° cone (so Right stays on the row), else anywhere that way.
  function move(dx, dy) {
    var buttons = Array.prototype.filter.call(root.querySelectorAll('button'), function (b) { return !b.disabled; });
    var from = document.activeElement && root.contains(document.activeElement) ? document.activeElement : null;
    if (!from) { if (buttons[0]) buttons[0].focus(); return; }
    var a = from.getBoundingClientRect();
    var ax = a.left + a.width / 2, ay = a.top + a.height / 2;
    var candidates = buttons.filter(function (b) { return b !== from; }).map(function (b) {
      var r = b.getBoundingClientRect();
      var bx = r.left + r.width / 2, by = r.top + r.height / 2;
      var along = (bx - ax) * dx + (by - ay) * dy;
      var across = Math.abs((bx - ax) * dy) + Math.abs((by - ay) * dx);
      return { el: b, along: along, across: across, score: along + 2 * across };
    }).filter(function (c) { return c.along > 1; });
    var inCone = candidates.filter(function (c) { return c.across <= c.along; });
    var pool = inCone.length ? inCone : candidates;
    pool.sort(function (p, q) { return p.score - q.score; });
    if (pool[0]) pool[0].el.focus();
  }

  window.addEventListener('focus', function () { if (focusLost()) focusDefault(); });

  document.addEventListener('keydown', function (e) {
    if (focusLost() && e.key !== 'Tab') { e.preventDefault(); focusDefault(); return; }
    var dirs = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    var d = dirs[e.key];
    var at = document.activeElement;
    if (d && at && at.hasAttribute('data-row')) { e.preventDefault(); moveInGrid(at, d[0], d[1]); return; }
    if (d) { e.preventDefault(); move(d[0], d[1]); return; }
    if (BACK_KEYS.indexOf(e.key) >= 0 || BACK_KEY_CODES.indexOf(e.keyCode) >= 0) {
      var back = document.getElementById('back') || document.getElementById('cancel') || document.getElementById('done') || document.getElementById('again');
      if (back) { e.preventDefault(); back.click(); }
    }
  });

  productScreen();
})();
