/*
 * Stripe.js stand-in, served by anycart's fake Stripe (crates/fake-stripe) at /v3.
 * A page loads https://js.stripe.com/v3 in production and <fake>/v3 in tests.
 * Plain ES2019, no dependencies; it talks only to the origin it was loaded from,
 * and its look is the stylesheet <fake>/v3/stand-in.css (no inline styles, so it
 * runs under a Content-Security-Policy without 'unsafe-inline', as Stripe.js does).
 *
 * What it fakes (the surface anycart's widget uses):
 *   Stripe(publishableKey)
 *     .elements({mode: 'payment', amount, currency, appearance?})  -> elements
 *         .create('payment' | 'expressCheckout', options)            -> element
 *         .submit()        -> Promise<{error?}>   (validates the card fields)
 *         .update(options), .getElement(type)
 *     .createPaymentMethod({elements, params?})
 *         -> Promise<{paymentMethod} | {error}>   (POST /v1/payment_methods with the
 *            publishable key; elements.submit() must come first, as on Stripe)
 *     .handleNextAction({clientSecret})
 *         -> Promise<{paymentIntent} | {error}>   (an in-page "3-D Secure" dialog with
 *            "Complete" and "Fail" buttons, then POST /test_control/.../authenticate)
 *     .retrievePaymentIntent(clientSecret) -> Promise<{paymentIntent} | {error}>
 *   payment element: mount(selector | node), unmount(), destroy(), focus(), clear(),
 *     on/off('change' {complete, empty, value}, 'ready', 'focus', 'blur'); renders
 *     plain labelled inputs "Card number", "Expiration date" (MM / YY),
 *     "Security code", "Country". Typed test cards: 4242 4242 4242 4242 succeeds,
 *     4000 0000 0000 0002 declines, 4000 0000 0000 9995 insufficient funds,
 *     4000 0027 6000 3184 asks for 3-D Secure (and the other numbers of docs/testing
 *     the fake knows).
 *   expressCheckout element: "Apple Pay" and "Google Pay" buttons (none when
 *     window.__fakeStripeWallets === false, or a wallet set to 'never' in
 *     options.paymentMethods); events 'ready' {availablePaymentMethods}, 'click'
 *     (event.resolve({emailRequired, phoneNumberRequired, shippingAddressRequired,
 *     shippingRates}) or event.reject()), then a "wallet sheet" dialog with a fixed
 *     test buyer, 'shippingaddresschange' (redacted address: city, state,
 *     postal_code, country), 'shippingratechange' when another rate is picked,
 *     'confirm' {expressPaymentType, billingDetails, shippingAddress, shippingRate,
 *     paymentFailed()} on "Pay", 'cancel' on "Cancel". After 'confirm',
 *     createPaymentMethod gives a card PaymentMethod (Visa 4242, card.wallet.type
 *     apple_pay/google_pay) that succeeds.
 *
 * What it does not fake: the iframes (inputs are plain DOM in the page, so tests
 * find them by label without frame locators), confirmPayment/confirmCardPayment and
 * redirects, other payment method types, Link, the real 3-D Secure and wallet
 * protocols, telemetry, fraud signals, localisation. window.__fakeStripeOrigin
 * overrides the origin it calls.
 */
(function () {
  'use strict';

  var currentScript = document.currentScript;
  var ORIGIN = window.__fakeStripeOrigin ||
    (currentScript && currentScript.src ? new URL(currentScript.src).origin : window.location.origin);

  var TEST_BUYER = {
    name: 'Jenny Rosen',
    email: 'jenny.rosen@example.com',
    phone: '+14155550123',
    address: {
      line1: '1 Market Street', line2: null, city: 'San Francisco', state: 'CA',
      postal_code: '94105', country: 'US'
    }
  };
  var WALLET_CARD = '4242424242424242';
  var COUNTRIES = [['US', 'United States'], ['GB', 'United Kingdom'], ['FR', 'France'],
    ['DE', 'Germany'], ['CA', 'Canada'], ['AU', 'Australia'], ['JP', 'Japan']];
  var uid = 0;

  function IntegrationError(message) {
    var e = new Error(message);
    e.name = 'IntegrationError';
    return e;
  }

  /* Stripe's bracket notation: {card: {number: 1}} -> card[number]=1 */
  function encodeForm(obj, prefix, out) {
    out = out || [];
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      var name = prefix ? prefix + '[' + k + ']' : k;
      if (v === undefined || v === null) return;
      if (typeof v === 'object') encodeForm(v, name, out);
      else out.push(encodeURIComponent(name) + '=' + encodeURIComponent(String(v)));
    });
    return out.join('&');
  }

  function api(method, path, key, form) {
    var init = { method: method, headers: { Authorization: 'Bearer ' + key } };
    if (form) {
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init.body = encodeForm(form);
    }
    return fetch(ORIGIN + path, init).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }, function () {
      return { ok: false, body: { error: { type: 'api_connection_error', message: 'Could not reach the fake Stripe.' } } };
    });
  }

  function control(path, body) {
    return fetch(ORIGIN + '/test_control' + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, body: b }; });
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function resolveTarget(target) {
    var node = typeof target === 'string' ? document.querySelector(target) : target;
    if (!node || !node.appendChild) throw IntegrationError('mount(): no element matches ' + String(target));
    return node;
  }

  /* The look comes from a stylesheet on the stand-in's own origin (CSP-safe: no
   * inline <style>, no style attributes; appearance variables go through CSSOM). */
  var STYLESHEET = (currentScript && currentScript.src ? new URL(currentScript.src).origin : ORIGIN) + '/v3/stand-in.css';

  function ensureStyle() {
    if (document.getElementById('fake-stripe-style')) return;
    var link = el('link', { id: 'fake-stripe-style', rel: 'stylesheet', href: STYLESHEET });
    (document.head || document.documentElement).appendChild(link);
  }

  function Emitter() { this._handlers = {}; }
  Emitter.prototype.on = function (name, cb) {
    (this._handlers[name] = this._handlers[name] || []).push(cb);
    return this;
  };
  Emitter.prototype.off = function (name, cb) {
    var list = this._handlers[name] || [];
    this._handlers[name] = cb ? list.filter(function (h) { return h !== cb; }) : [];
    return this;
  };
  Emitter.prototype.once = function (name, cb) {
    var self = this;
    function wrapper(e) { self.off(name, wrapper); cb(e); }
    return this.on(name, wrapper);
  };
  Emitter.prototype._has = function (name) { return (this._handlers[name] || []).length > 0; };
  Emitter.prototype._emit = function (name, payload) {
    (this._handlers[name] || []).slice().forEach(function (cb) { cb(payload); });
  };

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function isAmex(digits) { return /^3[47]/.test(digits); }

  function formatNumber(digits) {
    var groups = isAmex(digits) ? [4, 6, 5] : [4, 4, 4, 4, 3];
    var out = [];
    var i = 0;
    groups.forEach(function (g) {
      if (i < digits.length) { out.push(digits.slice(i, i + g)); i += g; }
    });
    return out.join(' ');
  }

  /* ---- Payment Element ---- */

  function PaymentElement(elements, options) {
    Emitter.call(this);
    this._elements = elements;
    this._options = options || {};
    this._root = null;
    this._inputs = null;
  }
  PaymentElement.prototype = Object.create(Emitter.prototype);

  PaymentElement.prototype.mount = function (target) {
    ensureStyle();
    var host = resolveTarget(target);
    var id = 'fs' + (++uid);
    var self = this;
    function field(key, label, input) {
      input.id = id + '-' + key;
      input.setAttribute('aria-describedby', id + '-' + key + '-error');
      return el('div', { 'class': 'fs-field' }, [
        el('label', { 'for': input.id, text: label }), input,
        el('div', { 'class': 'fs-error', id: id + '-' + key + '-error', role: 'alert', 'aria-live': 'polite' })
      ]);
    }
    var number = el('input', { name: 'cardnumber', autocomplete: 'cc-number', inputmode: 'numeric', placeholder: '1234 1234 1234 1234' });
    var expiry = el('input', { name: 'exp-date', autocomplete: 'cc-exp', inputmode: 'numeric', placeholder: 'MM / YY' });
    var cvc = el('input', { name: 'cvc', autocomplete: 'cc-csc', inputmode: 'numeric', placeholder: 'CVC' });
    var country = el('select', { name: 'country', autocomplete: 'country' }, COUNTRIES.map(function (c) {
      return el('option', { value: c[0], text: c[1] });
    }));
    this._inputs = { number: number, expiry: expiry, cvc: cvc, country: country };
    this._root = el('div', { 'class': 'fake-stripe-payment-element', 'data-fake-stripe': 'payment' }, [
      field('number', 'Card number', number),
      el('div', { 'class': 'fs-row' }, [field('expiry', 'Expiration date', expiry), field('cvc', 'Security code', cvc)]),
      field('country', 'Country', country)
    ]);
    applyAppearance(this._root, this._elements._options.appearance);
    host.appendChild(this._root);

    number.addEventListener('input', function () {
      number.value = formatNumber(number.value.replace(/\D/g, '').slice(0, 19));
      self._changed();
    });
    expiry.addEventListener('input', function () {
      var d = expiry.value.replace(/\D/g, '').slice(0, 4);
      expiry.value = d.length > 2 ? d.slice(0, 2) + ' / ' + d.slice(2) : d;
      self._changed();
    });
    cvc.addEventListener('input', function () {
      cvc.value = cvc.value.replace(/\D/g, '').slice(0, 4);
      self._changed();
    });
    country.addEventListener('change', function () { self._changed(); });
    [number, expiry, cvc, country].forEach(function (i) {
      i.addEventListener('focus', function () { self._emit('focus', { elementType: 'payment' }); });
      i.addEventListener('blur', function () { self._emit('blur', { elementType: 'payment' }); });
    });
    setTimeout(function () { self._emit('ready', { elementType: 'payment' }); }, 0);
  };

  PaymentElement.prototype._values = function () {
    var i = this._inputs;
    var exp = i.expiry.value.replace(/\D/g, '');
    return {
      number: i.number.value.replace(/\D/g, ''),
      month: exp.slice(0, 2),
      year: exp.slice(2, 4),
      cvc: i.cvc.value,
      country: i.country.value
    };
  };

  /* The first problem with the fields, as Stripe words it; null if complete. */
  PaymentElement.prototype._problem = function () {
    var v = this._values();
    var now = new Date();
    var numberLength = isAmex(v.number) ? 15 : 16;
    if (v.number.length < numberLength) return ['number', 'incomplete_number', 'Your card number is incomplete.'];
    if (!luhn(v.number)) return ['number', 'invalid_number', 'Your card number is invalid.'];
    if (v.month.length < 2 || v.year.length < 2) return ['expiry', 'incomplete_expiry', "Your card's expiration date is incomplete."];
    var month = Number(v.month);
    var year = 2000 + Number(v.year);
    if (month < 1 || month > 12) return ['expiry', 'invalid_expiry_month', "Your card's expiration date is invalid."];
    if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
      return ['expiry', 'invalid_expiry_year_past', "Your card's expiration year is in the past."];
    }
    if (v.cvc.length < (isAmex(v.number) ? 4 : 3)) return ['cvc', 'incomplete_cvc', "Your card's security code is incomplete."];
    return null;
  };

  PaymentElement.prototype._showErrors = function (problem) {
    var self = this;
    ['number', 'expiry', 'cvc'].forEach(function (k) {
      var input = self._inputs[k];
      var box = document.getElementById(input.getAttribute('aria-describedby'));
      var mine = problem && problem[0] === k;
      input.setAttribute('aria-invalid', mine ? 'true' : 'false');
      if (box) box.textContent = mine ? problem[2] : '';
    });
  };

  PaymentElement.prototype._changed = function () {
    this._elements._submitted = null;
    this._showErrors(null);
    var v = this._values();
    this._emit('change', {
      elementType: 'payment',
      complete: this._problem() === null,
      empty: !v.number && !v.month && !v.cvc,
      collapsed: false,
      value: { type: 'card' }
    });
  };

  PaymentElement.prototype.focus = function () { if (this._inputs) this._inputs.number.focus(); };
  PaymentElement.prototype.blur = function () { if (document.activeElement) document.activeElement.blur(); };
  PaymentElement.prototype.clear = function () {
    if (!this._inputs) return;
    this._inputs.number.value = this._inputs.expiry.value = this._inputs.cvc.value = '';
    this._changed();
  };
  PaymentElement.prototype.update = function (options) { Object.assign(this._options, options || {}); };
  PaymentElement.prototype.unmount = function () {
    if (this._root && this._root.parentNode) this._root.parentNode.removeChild(this._root);
    this._root = null;
    this._inputs = null;
  };
  PaymentElement.prototype.destroy = function () {
    this.unmount();
    this._handlers = {};
    if (this._elements._created.payment === this) delete this._elements._created.payment;
  };

  function applyAppearance(node, appearance) {
    var v = (appearance && appearance.variables) || {};
    if (v.borderRadius) node.style.setProperty('--fs-radius', v.borderRadius);
    if (v.fontFamily) node.style.fontFamily = v.fontFamily;
    if (v.colorText) node.style.color = v.colorText;
  }

  /* ---- Dialogs (3-D Secure, wallet sheet) ---- */

  function openDialog(title, body, buttons, onEscape) {
    ensureStyle();
    var titleId = 'fs' + (++uid) + '-title';
    var dialog = el('div', { 'class': 'fs-dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId },
      [el('h2', { id: titleId, text: title })].concat(body).concat([el('div', {}, buttons)]));
    var overlay = el('div', { 'class': 'fs-overlay', 'data-fake-stripe': 'dialog' }, [dialog]);
    overlay.addEventListener('keydown', function (e) { if (e.key === 'Escape' && onEscape) onEscape(); });
    document.body.appendChild(overlay);
    if (buttons[0]) buttons[0].focus();
    return function close() { if (overlay.parentNode) overlay.parentNode.removeChild(overlay); };
  }

  function button(text, onClick) {
    var b = el('button', { type: 'button', text: text });
    b.addEventListener('click', onClick);
    return b;
  }

  function money(amount, currency) {
    if (typeof amount !== 'number') return '';
    var zeroDecimal = ['jpy', 'krw', 'vnd', 'clp'].indexOf(String(currency).toLowerCase()) >= 0;
    var major = zeroDecimal ? amount : amount / 100;
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency: String(currency || 'usd').toUpperCase() }).format(major);
    } catch (e) {
      return major.toFixed(zeroDecimal ? 0 : 2) + ' ' + String(currency).toUpperCase();
    }
  }

  /* ---- Express Checkout Element ---- */

  var WALLETS = [['apple_pay', 'applePay', 'Apple Pay'], ['google_pay', 'googlePay', 'Google Pay']];

  function ExpressCheckoutElement(elements, options) {
    Emitter.call(this);
    this._elements = elements;
    this._options = options || {};
    this._root = null;
  }
  ExpressCheckoutElement.prototype = Object.create(Emitter.prototype);

  ExpressCheckoutElement.prototype._available = function () {
    if (window.__fakeStripeWallets === false) return [];
    var wanted = this._options.paymentMethods || {};
    return WALLETS.filter(function (w) { return wanted[w[1]] !== 'never'; });
  };

  ExpressCheckoutElement.prototype.mount = function (target) {
    ensureStyle();
    var host = resolveTarget(target);
    var self = this;
    var wallets = this._available();
    this._root = el('div', { 'class': 'fs-wallets', 'data-fake-stripe': 'express-checkout' }, wallets.map(function (w) {
      return button(w[2], function () { self._click(w[0]); });
    }));
    applyAppearance(this._root, this._elements._options.appearance);
    host.appendChild(this._root);
    setTimeout(function () {
      var available;
      if (wallets.length) {
        available = { applePay: false, googlePay: false, link: false, paypal: false, amazonPay: false };
        wallets.forEach(function (w) { available[w[1]] = true; });
      }
      self._emit('ready', { elementType: 'expressCheckout', availablePaymentMethods: available });
    }, 0);
  };

  ExpressCheckoutElement.prototype._click = function (type) {
    var self = this;
    var settled = false;
    var event = {
      elementType: 'expressCheckout',
      expressPaymentType: type,
      resolve: function (opts) { if (!settled) { settled = true; self._openSheet(type, opts || {}); } },
      reject: function () { settled = true; }
    };
    if (this._has('click')) this._emit('click', event);
    else event.resolve({});
  };

  ExpressCheckoutElement.prototype._openSheet = function (type, opts) {
    var self = this;
    var elements = this._elements;
    var label = type === 'apple_pay' ? 'Apple Pay' : 'Google Pay';
    var rates = opts.shippingRates || [];
    var selected = rates[0] || null;
    var blocked = false;
    var amount = typeof opts.amount === 'number' ? opts.amount : elements._options.amount;
    var details = el('div', { 'data-fake-stripe': 'wallet-buyer' });
    var rateBox = el('fieldset', {}, []);
    var status = el('div', { role: 'status', 'aria-live': 'polite' });
    var total = el('p', { text: 'Total ' + money(amount, elements._options.currency) });
    var pay = button('Pay', confirm);
    var cancel = button('Cancel', function () { close(); self._emit('cancel', { elementType: 'expressCheckout' }); });
    var close = openDialog(label + ' (test wallet)', [details, rateBox, total, status], [pay, cancel], function () { cancel.click(); });

    var lines = [TEST_BUYER.name];
    if (opts.emailRequired) lines.push(TEST_BUYER.email);
    if (opts.phoneNumberRequired) lines.push(TEST_BUYER.phone);
    if (opts.shippingAddressRequired) {
      var a = TEST_BUYER.address;
      lines.push(a.line1 + ', ' + a.city + ', ' + a.state + ' ' + a.postal_code + ', ' + a.country);
    }
    lines.forEach(function (l) { details.appendChild(el('div', { text: l })); });

    function drawRates() {
      rateBox.innerHTML = '';
      if (!rates.length) return;
      rateBox.appendChild(el('legend', { text: 'Shipping method' }));
      rates.forEach(function (r) {
        var id = 'fs' + (++uid) + '-rate';
        var radio = el('input', { type: 'radio', name: 'fs-rate', id: id, value: r.id });
        radio.checked = selected && selected.id === r.id;
        radio.addEventListener('change', function () { pickRate(r); });
        rateBox.appendChild(el('div', {}, [radio, el('label', { 'for': id, text: r.displayName + ' ' + money(r.amount, elements._options.currency) })]));
      });
    }

    /* Runs a handler that must call resolve/reject; without one, resolves at once. */
    function ask(name, payload, onResolve) {
      pay.disabled = true;
      var done = false;
      payload.resolve = function (o) {
        if (done) return;
        done = true;
        pay.disabled = blocked;
        onResolve(o || {});
      };
      payload.reject = function () {
        if (done) return;
        done = true;
        blocked = true;
        status.textContent = 'This option is not available.';
        pay.disabled = true;
      };
      if (self._has(name)) self._emit(name, payload);
      else payload.resolve({});
    }

    function update(o) {
      if (o.shippingRates) { rates = o.shippingRates; selected = rates[0] || null; }
      // Stripe takes a new total from elements.update({amount}) before resolve();
      // this stand-in also accepts `amount` in the resolve payload.
      amount = typeof o.amount === 'number' ? o.amount : elements._options.amount;
      total.textContent = 'Total ' + money(amount, elements._options.currency);
      drawRates();
    }

    function pickRate(r) {
      selected = r;
      ask('shippingratechange', { elementType: 'expressCheckout', shippingRate: r }, update);
    }

    function confirm() {
      var billing = { name: TEST_BUYER.name, email: opts.emailRequired ? TEST_BUYER.email : null,
        phone: opts.phoneNumberRequired ? TEST_BUYER.phone : null, address: TEST_BUYER.address };
      elements._wallet = { type: type, billingDetails: billing };
      elements._submitted = 'wallet';
      close();
      self._emit('confirm', {
        elementType: 'expressCheckout',
        expressPaymentType: type,
        billingDetails: billing,
        shippingAddress: opts.shippingAddressRequired ? { name: TEST_BUYER.name, address: TEST_BUYER.address } : undefined,
        shippingRate: selected || undefined,
        paymentFailed: function () { elements._wallet = null; elements._submitted = null; }
      });
    }

    drawRates();
    if (opts.shippingAddressRequired) {
      var addr = TEST_BUYER.address;
      ask('shippingaddresschange', {
        elementType: 'expressCheckout',
        name: TEST_BUYER.name,
        address: { city: addr.city, state: addr.state, postal_code: addr.postal_code, country: addr.country }
      }, update);
    }
  };

  ExpressCheckoutElement.prototype.update = function (options) { Object.assign(this._options, options || {}); };
  ExpressCheckoutElement.prototype.unmount = function () {
    if (this._root && this._root.parentNode) this._root.parentNode.removeChild(this._root);
    this._root = null;
  };
  ExpressCheckoutElement.prototype.destroy = function () {
    this.unmount();
    this._handlers = {};
    if (this._elements._created.expressCheckout === this) delete this._elements._created.expressCheckout;
  };

  /* ---- Elements group ---- */

  function Elements(stripe, options) {
    this._stripe = stripe;
    this._options = options || {};
    this._created = {};
    this._submitted = null;
    this._wallet = null;
  }

  Elements.prototype.create = function (type, options) {
    if (this._created[type]) throw IntegrationError('Can only create one Element of type ' + type + '.');
    var element;
    if (type === 'payment') element = new PaymentElement(this, options);
    else if (type === 'expressCheckout') element = new ExpressCheckoutElement(this, options);
    else throw IntegrationError('The fake Stripe.js supports only "payment" and "expressCheckout" Elements, not "' + type + '".');
    this._created[type] = element;
    return element;
  };

  Elements.prototype.getElement = function (type) { return this._created[type] || null; };

  Elements.prototype.update = function (options) { Object.assign(this._options, options || {}); };

  Elements.prototype.submit = function () {
    if (this._wallet) { this._submitted = 'wallet'; return Promise.resolve({}); }
    var pe = this._created.payment;
    if (!pe || !pe._inputs) {
      return Promise.resolve({ error: { type: 'validation_error', code: 'incomplete', message: 'No Payment Element is mounted.' } });
    }
    var problem = pe._problem();
    pe._showErrors(problem);
    if (problem) {
      pe._inputs[problem[0]].focus();
      return Promise.resolve({ error: { type: 'validation_error', code: problem[1], message: problem[2] } });
    }
    this._submitted = 'card';
    return Promise.resolve({});
  };

  /* ---- Stripe ---- */

  function Stripe(publishableKey, options) {
    if (!(this instanceof Stripe)) return new Stripe(publishableKey, options);
    if (typeof publishableKey !== 'string' || publishableKey.indexOf('pk_') !== 0) {
      throw IntegrationError('Invalid value for Stripe(): apiKey should be a publishable key (pk_…). You specified: ' + publishableKey + '.');
    }
    this._key = publishableKey;
    this._options = options || {};
  }

  Stripe.prototype.elements = function (options) { return new Elements(this, options); };

  Stripe.prototype.createPaymentMethod = function (args) {
    var elements = args && args.elements;
    if (!elements || !(elements instanceof Elements)) {
      return Promise.reject(IntegrationError('createPaymentMethod: pass {elements} (this stand-in supports only that form).'));
    }
    if (!elements._submitted) {
      return Promise.reject(IntegrationError('elements.submit() must be called before stripe.createPaymentMethod(). Call elements.submit() as soon as your customer presses pay, prior to any asynchronous work.'));
    }
    var extra = (args.params && args.params.billing_details) || {};
    var form;
    if (elements._submitted === 'wallet' && elements._wallet) {
      var b = elements._wallet.billingDetails;
      form = {
        type: 'card',
        card: { number: WALLET_CARD, exp_month: 12, exp_year: new Date().getFullYear() + 3, cvc: '123' },
        billing_details: Object.assign({ name: b.name, email: b.email, phone: b.phone, address: b.address }, extra),
        fake_wallet: elements._wallet.type,
        payment_user_agent: 'fake-stripe.js; express-checkout'
      };
    } else {
      var v = elements._created.payment._values();
      form = {
        type: 'card',
        card: { number: v.number, exp_month: v.month, exp_year: v.year, cvc: v.cvc },
        billing_details: Object.assign({}, extra, { address: Object.assign({ country: v.country }, extra.address || {}) }),
        payment_user_agent: 'fake-stripe.js; payment-element'
      };
    }
    elements._submitted = null;
    elements._wallet = null;
    return api('POST', '/v1/payment_methods', this._key, form).then(function (r) {
      return r.ok ? { paymentMethod: r.body } : { error: r.body.error };
    });
  };

  function intentId(clientSecret) {
    var i = String(clientSecret || '').indexOf('_secret_');
    return i > 0 ? clientSecret.slice(0, i) : null;
  }

  Stripe.prototype.retrievePaymentIntent = function (clientSecret) {
    var id = intentId(clientSecret);
    if (!id) return Promise.reject(IntegrationError('Invalid value for retrievePaymentIntent: clientSecret.'));
    return api('GET', '/v1/payment_intents/' + id + '?client_secret=' + encodeURIComponent(clientSecret), this._key)
      .then(function (r) { return r.ok ? { paymentIntent: r.body } : { error: r.body.error }; });
  };

  Stripe.prototype.handleNextAction = function (args) {
    var clientSecret = args && args.clientSecret;
    var id = intentId(clientSecret);
    if (!id) return Promise.reject(IntegrationError('Invalid value for handleNextAction: clientSecret.'));
    return this.retrievePaymentIntent(clientSecret).then(function (got) {
      if (got.error || got.paymentIntent.status !== 'requires_action') return got;
      return new Promise(function (resolve) {
        function answer(success) {
          close();
          control('/payment_intents/' + id + '/authenticate', { success: success, client_secret: clientSecret }).then(function (r) {
            if (!r.ok) { resolve({ error: r.body.error }); return; }
            var pi = r.body;
            if (pi.status === 'requires_payment_method' && pi.last_payment_error) {
              resolve({ error: Object.assign({}, pi.last_payment_error, { payment_intent: pi }) });
            } else {
              resolve({ paymentIntent: pi });
            }
          }, function () {
            resolve({ error: { type: 'api_connection_error', message: 'Could not reach the fake Stripe.' } });
          });
        }
        var close = openDialog('3-D Secure', [
          el('p', { text: 'Test payment authentication. This stand-in for your bank\u2019s page completes or fails the challenge.' })
        ], [button('Complete', function () { answer(true); }), button('Fail', function () { answer(false); })],
        function () { answer(false); });
      });
    });
  };

  Stripe.version = 3;
  Stripe.fake = true;
  ensureStyle();
  window.Stripe = Stripe;
})();
