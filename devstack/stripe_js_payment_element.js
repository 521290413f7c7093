/*
 * A local stand-in for Stripe.js's Payment Element, served by devstack/localstripe_server.py
 * at /js.stripe.com/v3/payment-element/ (never deployed: production loads
 * https://js.stripe.com/v3/). It implements the part of Stripe.js that a checkout uses:
 *
 *   const stripe = Stripe(publishableKey);
 *   const elements = stripe.elements({ clientSecret });
 *   elements.create("payment").mount("#payment-element");
 *   const { error, paymentIntent } = await stripe.confirmPayment({ elements, redirect: "if_required" });
 *
 * and Stripe's deferred intent creation (the intent made when the buyer pays):
 *
 *   const elements = stripe.elements({ mode: "payment", amount, currency });
 *   ...; await elements.submit(); (ask the server for the intent's client secret)
 *   await stripe.confirmPayment({ elements, clientSecret, redirect: "if_required" });
 *
 * The card fields render in the page (Stripe renders them in its own iframe). Confirmation
 * posts the card to localstripe with the publishable key and the client secret, as Stripe.js
 * does; errors come back shaped like Stripe.js's ({ type: "card_error", code, message }).
 * Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0341 is declined.
 */
(function () {
  "use strict";
  const script = document.currentScript;
  const BASE = new URL(script ? script.src : window.location.href).origin;

  let counter = 0;

  class PaymentElement {
    constructor(options) {
      this.options = options || {};
      this.listeners = {};
      this.root = null;
      this.inputs = null;
    }

    mount(target) {
      const parent = typeof target === "string" ? document.querySelector(target) : target;
      if (!parent) throw new Error("Payment Element: mount() needs an element or a selector.");
      const id = `ls-pe-${++counter}`;
      const root = document.createElement("fieldset");
      root.className = "ls-payment-element";
      root.innerHTML = `
        <legend>Card (local Stripe stand-in)</legend>
        <p class="ls-hint" id="${id}-hint">Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0341 is declined.</p>
        <label for="${id}-number">Card number</label>
        <input id="${id}-number" name="cardnumber" inputmode="numeric" autocomplete="cc-number" aria-describedby="${id}-hint" placeholder="1234 1234 1234 1234">
        <label for="${id}-expiry">Expiration date (MM / YY)</label>
        <input id="${id}-expiry" name="exp-date" inputmode="numeric" autocomplete="cc-exp" placeholder="MM / YY">
        <label for="${id}-cvc">Security code</label>
        <input id="${id}-cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="CVC">`;
      parent.appendChild(root);
      this.root = root;
      this.inputs = {
        number: root.querySelector(`#${id}-number`),
        expiry: root.querySelector(`#${id}-expiry`),
        cvc: root.querySelector(`#${id}-cvc`),
      };
      Object.values(this.inputs).forEach((input) =>
        input.addEventListener("input", () => this._emit("change", { complete: this._complete() })),
      );
      setTimeout(() => this._emit("ready", {}), 0);
      return this;
    }

    _complete() {
      const v = this.value();
      return v.number.length >= 15 && v.exp_month && v.exp_year && v.cvc.length >= 3;
    }

    value() {
      const [month, year] = (this.inputs.expiry.value || "").split("/").map((s) => s.trim());
      return {
        number: this.inputs.number.value.replace(/\s+/g, ""),
        exp_month: month || "",
        exp_year: year || "",
        cvc: this.inputs.cvc.value.trim(),
      };
    }

    on(event, handler) {
      (this.listeners[event] = this.listeners[event] || []).push(handler);
      return this;
    }

    _emit(event, payload) {
      (this.listeners[event] || []).forEach((handler) => handler({ elementType: "payment", ...payload }));
    }

    update() {}

    focus() {
      if (this.inputs) this.inputs.number.focus();
    }

    clear() {
      if (this.inputs) Object.values(this.inputs).forEach((input) => (input.value = ""));
    }

    unmount() {
      if (this.root) this.root.remove();
      this.root = null;
      this.inputs = null;
    }

    destroy() {
      this.unmount();
    }
  }

  window.Stripe = function Stripe(publishableKey) {
    if (typeof publishableKey !== "string" || !publishableKey.startsWith("pk_")) {
      throw new Error("Stripe(): a publishable key (pk_...) is required.");
    }
    return {
      elements(options) {
        // Either an intent's client secret, or (Stripe's deferred intent creation) the
        // `mode: "payment"`, `amount` and `currency` it will be for: the secret then comes to
        // confirmPayment.
        const clientSecret = options && options.clientSecret;
        const deferred = options && options.mode === "payment";
        if (!clientSecret && !(deferred && Number.isInteger(options.amount) && options.currency)) {
          throw new Error("elements(): a clientSecret, or mode: 'payment' with amount and currency.");
        }
        let element = null;
        return {
          _clientSecret: clientSecret,
          _amount: deferred ? options.amount : null,
          create(type, elementOptions) {
            if (type !== "payment") throw new Error(`The local stand-in has only the "payment" element, not "${type}".`);
            element = new PaymentElement(elementOptions);
            return element;
          },
          getElement(type) {
            return type === "payment" ? element : null;
          },
          async submit() {
            if (!element || !element._complete()) {
              return { error: { type: "validation_error", message: "Your card details are incomplete." } };
            }
            return {};
          },
          _element() {
            return element;
          },
        };
      },

      async confirmPayment({ elements, clientSecret: given, confirmParams, redirect } = {}) {
        const element = elements && elements._element();
        const clientSecret = given || (elements && elements._clientSecret);
        if (!element || !clientSecret) {
          return { error: { type: "invalid_request_error", message: "Mount a Payment Element, and give the clientSecret (here or to elements())." } };
        }
        if (!element._complete()) {
          return { error: { type: "validation_error", message: "Your card details are incomplete." } };
        }
        const intentId = clientSecret.split("_secret_")[0];
        const card = element.value();
        const body = new URLSearchParams({
          key: publishableKey,
          client_secret: clientSecret,
          "card[number]": card.number,
          "card[exp_month]": card.exp_month,
          "card[exp_year]": card.exp_year,
          "card[cvc]": card.cvc,
        });
        let response;
        try {
          response = await fetch(`${BASE}/js.stripe.com/v3/payment_intents/${intentId}/confirm`, { method: "POST", body });
        } catch (err) {
          return { error: { type: "api_connection_error", message: "We could not reach the payment provider." } };
        }
        const data = await response.json().catch(() => ({}));
        if (!response.ok || data.error) {
          const error = data.error || {};
          return {
            error: {
              type: error.type || (response.status >= 500 ? "api_error" : "invalid_request_error"),
              code: error.code,
              message: error.message || "The payment failed.",
            },
          };
        }
        if (elements._amount !== null && data.amount !== elements._amount) {
          // Stripe refuses an intent whose amount differs from the Element's.
          return { error: { type: "invalid_request_error", message: "The PaymentIntent's amount differs from the Payment Element's." } };
        }
        if (data.status === "requires_action") {
          return { error: { type: "invalid_request_error", message: "Cards that ask for 3-D Secure are not supported by the local stand-in." } };
        }
        if (redirect !== "if_required" && confirmParams && confirmParams.return_url) {
          window.location.assign(`${confirmParams.return_url}${confirmParams.return_url.includes("?") ? "&" : "?"}payment_intent=${data.id}`);
        }
        return { paymentIntent: data };
      },
    };
  };
})();
