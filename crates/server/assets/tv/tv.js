// The TV checkout (served by crates/server/src/routes/tv/page.rs). Remote only:
// arrow keys move the focus between buttons, Enter presses one; no pointer, no
// typed text. "Buy" opens the checkout session through the ACP API with the
// placement's publishable key, holding the stock, then shows a hand-off code and
// its QR (drawn by the server) for the shopper's phone, and follows the session
// until it is paid. Text is set with textContent only; the one markup inserted
// is the server's own QR SVG, parsed as XML.
'use strict';
(function () {
  var cfg = JSON.parse(document.getElementById('anycart-config').textContent);
  var root = document.getElementById('tv');
  var POLL_MS = 2000;
  var BACK_KEYS = ['Escape', 'Backspace', 'GoBack', 'BrowserBack'];
  var BACK_KEY_CODES = [461, 10009, 8, 27]; // webOS, Tizen, and the usual two
  var st = { variant: pickVariant(), quantity: Math.max(1, cfg.quantity || 1), session: null, timer: 0, busy: false };

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
    show([qr, panel], 'cancel');
    follow();
  }

  function follow() {
    clearTimeout(st.timer);
    if (!st.session) return;
    st.timer = setTimeout(function () {
      api('GET', '/checkout_sessions/' + encodeURIComponent(st.session.id)).then(function (s) {
        if (s.status === 'completed') return paidScreen(s);
        if (s.status === 'canceled' || s.status === 'expired') return endedScreen();
        follow();
      }, follow);
    }, POLL_MS);
  }

  function paidScreen(s) {
    st.session = null;
    var number = s.order && s.order.order_number ? s.order.order_number : '';
    show([h('div', { class: 'panel' },
      h('p', { class: 'paid', 'data-testid': 'tv-paid' }, 'Paid \u2014 order #' + number),
      h('p', {}, 'Thank you! Your confirmation is on its way to your email.'),
      h('div', { class: 'row' }, h('button', { id: 'done', onclick: function () { productScreen(); } }, 'Done')))], 'done');
  }

  function endedScreen() {
    st.session = null;
    show([h('div', { class: 'panel' },
      h('h1', { 'data-testid': 'tv-ended' }, 'This checkout has ended'),
      h('p', {}, 'The hold ran out or the checkout was cancelled. Nothing was charged.'),
      h('div', { class: 'row' }, h('button', { id: 'again', onclick: function () { productScreen(); } }, 'Start again')))], 'again');
  }

  function cancelSession() {
    var s = st.session;
    st.session = null;
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
    if (d) { e.preventDefault(); move(d[0], d[1]); return; }
    if (BACK_KEYS.indexOf(e.key) >= 0 || BACK_KEY_CODES.indexOf(e.keyCode) >= 0) {
      var back = document.getElementById('cancel') || document.getElementById('done') || document.getElementById('again');
      if (back) { e.preventDefault(); back.click(); }
    }
  });

  productScreen();
})();
