/**
 * The reference checkout: catalog -> order (with an Idempotency-Key; seats held, no payment
 * yet) -> Stripe Payment Element mounted with the order's amount and currency -> "Pay": the
 * PaymentIntent from `POST /orders/{id}/payment`, confirmed with Stripe.js -> follow the order
 * to `fulfilled` -> tickets. Plain TypeScript and the DOM, no framework.
 *
 * Every API call goes through the typed client (`src/api/client.ts`), so a change in the API's
 * document that this page does not handle fails `tsc` before it reaches a buyer.
 */
import type { Stripe, StripeElements } from "@stripe/stripe-js";

import {
  type CatalogEntry,
  FINAL_STATES,
  type OrderCreateInput,
  type OrderCreated,
  type OrderPayment,
  type OrderState,
  type OrderStatus,
  retryAfterSeconds,
  type StorefrontClient,
  storefrontClient,
} from "./api/client";
import { formatMoney } from "./money";
import { StripeUnavailable, stripeLoad } from "./stripe";

interface Config {
  apiBase: string;
  stripePublishableKey: string;
  stripeJsUrl: string;
}

const POLL_MS = 1500;
const POLL_LIMIT_MS = 3 * 60 * 1000;

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
};

const alertBox = $("alert");
const progress = $("progress");

function showAlert(message: string, kind: "error" | "info" = "error"): void {
  alertBox.textContent = message;
  alertBox.className = kind === "error" ? "alert" : "alert info";
  alertBox.hidden = false;
}

function clearAlert(): void {
  alertBox.hidden = true;
  alertBox.textContent = "";
}

function say(message: string): void {
  progress.textContent = message;
}

const HEADINGS = { "step-order": "Buy tickets", "step-pay": "Pay for your tickets", "step-tickets": "Your order" };

function show(step: "step-order" | "step-pay" | "step-tickets"): void {
  for (const id of ["step-order", "step-pay", "step-tickets"]) $(id).hidden = id !== step;
  $("page-title").textContent = HEADINGS[step];
  const title = document.querySelector<HTMLElement>(`#${step} h2`);
  title?.focus();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- 1. Catalog and the order form ------------------------------------------------------------

let catalog: CatalogEntry[] = [];

function renderCatalog(entries: CatalogEntry[]): void {
  catalog = entries;
  const rows = $("catalog-rows");
  rows.replaceChildren();
  if (entries.length === 0) {
    rows.innerHTML = `<tr><td colspan="4">Nothing is on sale right now.</td></tr>`;
    return;
  }
  entries.forEach((entry, index) => {
    const row = document.createElement("tr");
    const soldOut = entry.available === 0;
    const max = Math.min(20, entry.available ?? 20);
    row.innerHTML = `
      <th scope="row"><span class="name"></span><span class="description"></span></th>
      <td>${formatMoney(entry.unit_amount, entry.currency)}</td>
      <td>${entry.available === null ? "Plenty" : soldOut ? "Sold out" : String(entry.available)}</td>
      <td>
        <label class="visually-hidden" for="qty-${index}"></label>
        <input id="qty-${index}" name="qty" type="number" inputmode="numeric" min="0" max="${max}"
          value="0" ${soldOut ? "disabled" : ""} aria-describedby="qty-${index}-error" />
        <p id="qty-${index}-error" class="field-error" hidden></p>
      </td>`;
    row.querySelector(".name")!.textContent = entry.name;
    row.querySelector(".description")!.textContent = entry.description;
    row.querySelector("label")!.textContent = `Quantity of ${entry.name}`;
    row.querySelector("input")!.dataset.sku = entry.sku;
    rows.appendChild(row);
  });
  updateTotal();
}

function chosenItems(): OrderCreateInput["items"] {
  return [...document.querySelectorAll<HTMLInputElement>("#catalog-rows input[data-sku]")]
    .map((input) => ({ sku: input.dataset.sku!, quantity: Number.parseInt(input.value, 10) || 0 }))
    .filter((item) => item.quantity > 0);
}

function restoreQuantities(items: OrderCreateInput["items"]): void {
  for (const item of items) {
    const input = document.querySelector<HTMLInputElement>(`#catalog-rows input[data-sku="${CSS.escape(item.sku)}"]`);
    if (input && !input.disabled) input.value = String(item.quantity);
  }
  updateTotal();
}

function updateTotal(): void {
  const items = chosenItems();
  const first = catalog[0];
  if (!first) return;
  const total = items.reduce(
    (sum, item) => sum + item.quantity * (catalog.find((c) => c.sku === item.sku)?.unit_amount ?? 0),
    0,
  );
  $("total").textContent = formatMoney(total, first.currency);
}

async function loadCatalog(api: StorefrontClient): Promise<void> {
  try {
    const { data, error } = await api.GET("/catalog");
    if (data) renderCatalog(data);
    else showAlert(error ? error.error.message : "The tickets could not be loaded. Reload the page to try again.");
  } catch {
    showAlert("We could not reach the ticket shop. Check your connection and reload the page.");
  }
}

// Field errors from the API (`fields`: dotted path in the body -> messages), next to inputs.
function fieldTarget(path: string, items: OrderCreateInput["items"]): string | null {
  const match = /^items\.(\d+)\.quantity$/.exec(path);
  if (match) {
    const sku = items[Number(match[1])]?.sku;
    const input = document.querySelector<HTMLInputElement>(`#catalog-rows input[data-sku="${CSS.escape(sku ?? "")}"]`);
    return input?.id ?? "items";
  }
  if (path.startsWith("items")) return "items";
  const customer = /^customer\.(email|name|phone)$/.exec(path);
  return customer ? customer[1]! : null;
}

function clearFieldErrors(): void {
  document.querySelectorAll<HTMLElement>(".field-error").forEach((p) => {
    p.hidden = true;
    p.textContent = "";
  });
  document.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
}

function showFieldErrors(fields: Record<string, string[]>, items: OrderCreateInput["items"]): void {
  let first: HTMLElement | null = null;
  for (const [path, messages] of Object.entries(fields)) {
    const target = fieldTarget(path, items) ?? "items";
    const message = document.getElementById(`${target}-error`);
    const input = document.getElementById(target);
    if (message) {
      message.textContent = messages.join(" ");
      message.hidden = false;
    }
    if (input instanceof HTMLInputElement) {
      input.setAttribute("aria-invalid", "true");
      first ??= input;
    }
  }
  first?.focus();
}

// What the page checks before sending the order (the API checks it all again).
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function formProblems(body: OrderCreateInput): Record<string, string[]> {
  const problems: Record<string, string[]> = {};
  if (body.items.length === 0) problems.items = ["Choose at least one ticket."];
  if (!body.customer.email) problems["customer.email"] = ["Enter your e-mail address: your tickets go there."];
  else if (!EMAIL.test(body.customer.email)) problems["customer.email"] = ["This does not look like an e-mail address (name@example.com)."];
  if (!body.customer.name) problems["customer.name"] = ["Enter your full name, as on your ID."];
  return problems;
}

// --- 2. Creating the order --------------------------------------------------------------------

// One key per order attempt: the same body sent again (after a timeout, a 503, a lost answer)
// reuses it, so the API answers the first order again instead of making a second one.
let pending: { body: string; key: string } | null = null;

function idempotencyKey(body: OrderCreateInput): string {
  const serialised = JSON.stringify(body);
  if (pending?.body !== serialised) pending = { body: serialised, key: crypto.randomUUID() };
  return pending.key;
}

// --- 2a. The on-sale's line ------------------------------------------------------------------

// The place in each on-sale's line (a signed token the API gave), kept while the page lives.
const lineTokens = new Map<string, string>();

function lineSku(fields: Record<string, string[]> | undefined, items: OrderCreateInput["items"]): string | null {
  for (const path of Object.keys(fields ?? {})) {
    const match = /^items\.(\d+)\.sku$/.exec(path);
    if (match) return items[Number(match[1])]?.sku ?? null;
  }
  return null;
}

/** Join the line of `sku` (once) and wait for our turn, showing the place; the token once
 * admitted, null when the line ended (sold out) or could not be reached. */
async function waitInLine(api: StorefrontClient, sku: string): Promise<string | null> {
  let token = lineTokens.get(sku);
  if (!token) {
    let data;
    try {
      ({ data } = await api.POST("/onsales/{sku}/line", { params: { path: { sku } } }));
    } catch {
      data = undefined;
    }
    if (!data) {
      showAlert("We could not put you in the line. Please try again in a moment.");
      return null;
    }
    token = data.token;
    lineTokens.set(sku, token);
  }
  for (;;) {
    let answer;
    try {
      answer = await api.GET("/onsales/{sku}/line", { params: { path: { sku }, header: { "Line-Token": token } } });
    } catch {
      say("Connection lost; you keep your place. Still trying…");
      await sleep(3000);
      continue;
    }
    const { data, error } = answer;
    if (!data) {
      showAlert(error?.error.message ?? "Your place in the line was lost. Please reload the page.");
      lineTokens.delete(sku);
      return null;
    }
    if (data.status === "admitted") {
      say("It is your turn: placing your order…");
      return token;
    }
    if (data.status === "sold_out") {
      showAlert("Sold out: every ticket has been sold, and the line has ended. Nothing was ordered or charged.");
      say("");
      return null;
    }
    const minutes = data.estimate_seconds >= 90 ? `about ${Math.round(data.estimate_seconds / 60)} min` : `about ${data.estimate_seconds} s`;
    say(`You are in line: ${data.place} ahead of you, ${minutes}. Keep this page open; your place is kept.`);
    await sleep(data.poll_after_seconds * 1000);
  }
}

async function createOrder(api: StorefrontClient, body: OrderCreateInput): Promise<OrderCreated | null> {
  const key = idempotencyKey(body);
  let lineToken: string | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    let result;
    try {
      const header = { "Idempotency-Key": key, ...(lineToken ? { "Line-Token": lineToken } : {}) };
      result = await api.POST("/orders", { body, params: { header } });
    } catch {
      showAlert("We could not reach the ticket shop. Check your connection and press the button again; you will not be charged twice.");
      return null;
    }
    const { data, error, response } = result;
    if (data) {
      pending = null;
      return data;
    }
    if (!error) break;
    const { code, message } = error.error;
    switch (code) {
      case "validation_error":
        showAlert("Please correct the highlighted fields.");
        showFieldErrors(error.error.fields ?? {}, body.items);
        return null;
      case "sold_out":
        showAlert("Sorry, there are not enough tickets left for your order. The numbers left are updated below; please change your quantities.");
        // Re-render with the numbers left first, then put the buyer's choice and the marks back
        // (rendering replaces the rows, and with them any mark made before).
        await loadCatalog(api);
        restoreQuantities(body.items);
        showFieldErrors(error.error.fields ?? {}, body.items);
        pending = null;
        return null;
      case "rate_limited": {
        const wait = retryAfterSeconds(response, 60);
        showAlert(`Too many orders from your connection just now. Please wait ${wait} seconds and try again.`);
        return null;
      }
      case "payment_provider_unavailable":
      case "service_unavailable": {
        const wait = retryAfterSeconds(response, 5);
        showAlert(
          `Payments are unavailable right now: our payment provider (Stripe) is not answering. Nothing was ordered or charged. Please try again in ${wait} seconds.`,
        );
        return null;
      }
      case "seats_in_carts": {
        // Admitted, but every seat left is in another buyer's cart: some come back if not paid.
        const wait = retryAfterSeconds(response, 10);
        say(`${message} Trying again in ${wait} s; keep this page open.`);
        await sleep(wait * 1000);
        attempt = 0; // waiting for seats is not a failed attempt
        continue;
      }
      case "line_pass_required":
      case "line_not_admitted_yet": {
        const sku = lineSku(error.error.fields, body.items);
        const token = sku ? await waitInLine(api, sku) : null;
        if (!token) return null;
        lineToken = token;
        attempt = 0; // the wait in line was not an attempt
        continue;
      }
      case "idempotency_in_progress":
        say("Still placing your order…");
        await sleep(1000);
        continue;
      case "idempotency_key_reused":
        pending = null; // the body changed under the same key: a new attempt gets a new key
        continue;
      default:
        showAlert(message);
        return null;
    }
  }
  showAlert("Your order could not be placed. Please try again.");
  return null;
}

// --- 3. Paying with the Payment Element -------------------------------------------------------

let stripe: Stripe | null = null;
let elements: StripeElements | null = null;

async function startPayment(config: Config, order: OrderCreated): Promise<boolean> {
  try {
    stripe = await stripeLoad(config.stripeJsUrl, config.stripePublishableKey);
  } catch (error) {
    const detail = error instanceof StripeUnavailable ? "" : ` (${String(error)})`;
    showAlert(
      `Payments are unavailable right now: Stripe could not be loaded${detail}. Your order ${order.order_id} is kept for 30 minutes; reload this page to try again.`,
    );
    return false;
  }
  // Stripe's deferred intent creation: the card is collected for this amount and currency, and
  // the PaymentIntent is made only when the buyer pays (a cart never paid costs Stripe nothing).
  elements = stripe.elements({ mode: "payment", amount: order.total_amount, currency: order.currency });
  const payment = elements.create("payment");
  $("payment-element").replaceChildren();
  payment.mount("#payment-element");
  $("pay-summary").textContent = `Order ${order.order_id}: ${order.items
    .map((item) => `${item.quantity} × ${item.name}`)
    .join(", ")}. Total ${formatMoney(order.total_amount, order.currency)}.`;
  $("pay-submit").textContent = `Pay ${formatMoney(order.total_amount, order.currency)}`;
  return true;
}

// The order's PaymentIntent, opened now. Payments busy (Stripe's request budget): wait as told
// and ask again, saying so; the seats stay held meanwhile.
async function openPayment(api: StorefrontClient, orderId: string): Promise<OrderPayment | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    let result;
    try {
      result = await api.POST("/orders/{order_id}/payment", { params: { path: { order_id: orderId } } });
    } catch {
      showAlert("We could not reach the ticket shop. Check your connection and press Pay again; you will not be charged twice.");
      return null;
    }
    const { data, error, response } = result;
    if (data) return data;
    if (!error) break;
    switch (error.error.code) {
      case "payment_provider_busy": {
        const wait = retryAfterSeconds(response, 2);
        say(`Payments are busy; trying again in ${wait} s. Your seats are held.`);
        await sleep(wait * 1000);
        continue;
      }
      case "order_not_payable":
        showAlert("This order can no longer be paid: its hold ran out. Nothing was charged; please place a new order.");
        return null;
      case "payment_provider_unavailable":
      case "service_unavailable": {
        const wait = retryAfterSeconds(response, 5);
        showAlert(`Payments are unavailable right now: our payment provider (Stripe) is not answering. Nothing was charged. Please try again in ${wait} seconds.`);
        return null;
      }
      default:
        showAlert(error.error.message);
        return null;
    }
  }
  showAlert("Payments are very busy. Nothing was charged; please press Pay again.");
  return null;
}

async function confirmPayment(api: StorefrontClient, orderId: string): Promise<boolean> {
  if (!stripe || !elements) return false;
  const submitted = await elements.submit();
  if (submitted.error) {
    showAlert(submitted.error.message ?? "Please check your card details.");
    return false;
  }
  const payment = await openPayment(api, orderId);
  if (!payment) return false;
  const { error } = await stripe.confirmPayment({
    elements,
    clientSecret: payment.client_secret,
    redirect: "if_required",
    confirmParams: { return_url: window.location.href },
  });
  if (!error) return true;
  if (error.type === "card_error" || error.type === "validation_error") {
    const declined = error.code === "card_declined" || error.type === "card_error";
    const reason = (error.message ?? "").replace(/\.+$/, "");
    showAlert(
      declined
        ? `Payment declined: ${reason || "Your card was declined"}. Nothing was charged; please try another card.`
        : (error.message ?? "Please check your card details."),
    );
  } else if (error.type === "api_connection_error" || error.type === "api_error") {
    showAlert("Payments are unavailable right now: Stripe is not answering. Nothing was charged; please try again in a minute.");
  } else {
    showAlert(error.message ?? "The payment did not go through. Please try again.");
  }
  return false;
}

// --- 4. Following the order -------------------------------------------------------------------

const ADVICE: Record<OrderState, string> = {
  pending_payment: "Waiting for the payment to be confirmed…",
  paid: "Payment received. Your tickets are being issued…",
  fulfilled: "Your tickets are ready. Keep this page or write down the codes.",
  fulfillment_failed:
    "Your payment went through but the tickets could not be issued. Our team has been alerted and will issue them or refund you; please quote your order id if you contact us.",
  canceled: "This order was canceled (it was not paid in time). Nothing was charged; you can place a new order.",
  refunded: "This order was refunded; its tickets are void.",
  partially_refunded: "Part of this order was refunded.",
};

const REACHED: Record<OrderState, string[]> = {
  pending_payment: ["created"],
  paid: ["created", "paid"],
  fulfilled: ["created", "paid", "fulfilled"],
  fulfillment_failed: ["created", "paid"],
  canceled: ["created"],
  refunded: ["created", "paid"],
  partially_refunded: ["created", "paid", "fulfilled"],
};

function renderOrder(order: OrderStatus): void {
  $("order-id").textContent = order.order_id;
  $("order-state").textContent = order.status.replace(/_/g, " ");
  $("order-state").dataset.state = order.status;
  $("order-advice").textContent = ADVICE[order.status] ?? "Please contact us with your order id.";
  const reached = REACHED[order.status] ?? ["created"];
  document.querySelectorAll<HTMLElement>("#timeline li").forEach((li) => {
    const done = reached.includes(li.dataset.step ?? "");
    li.classList.toggle("done", done);
    if (done) li.setAttribute("aria-label", `${li.textContent}: done`);
    else li.removeAttribute("aria-label");
  });
  const list = $("tickets");
  list.replaceChildren();
  for (const ticket of order.fulfillment.tickets) {
    const li = document.createElement("li");
    const name = order.items.find((item) => item.sku === ticket.sku)?.name ?? ticket.sku;
    li.innerHTML = `<span class="ticket-name"></span><br />Code: <code></code> <span class="ticket-state"></span>`;
    li.querySelector(".ticket-name")!.textContent = name;
    li.querySelector("code")!.textContent = ticket.code ?? "(sent by e-mail)";
    li.dataset.state = ticket.state;
    if (ticket.state === "void") {
      li.classList.add("void");
      li.querySelector(".ticket-state")!.textContent = "Void: no longer valid (refunded)";
    }
    list.appendChild(li);
  }
}

async function followOrder(api: StorefrontClient, orderId: string): Promise<void> {
  show("step-tickets");
  const url = new URL(window.location.href);
  url.searchParams.set("order", orderId);
  history.replaceState(null, "", url); // a reload keeps following this order
  const started = Date.now();
  let last: OrderState | null = null;
  while (Date.now() - started < POLL_LIMIT_MS) {
    try {
      const { data, error } = await api.GET("/orders/{order_id}", { params: { path: { order_id: orderId } } });
      if (error) {
        showAlert(error.error.code === "not_found" ? `We have no order ${orderId}.` : error.error.message);
        return;
      }
      if (data.status !== last) {
        last = data.status;
        renderOrder(data); // the status is shown once, in the order's line
        say("");
      }
      if (FINAL_STATES.has(data.status)) return;
    } catch {
      say("Connection lost; still trying…");
    }
    await sleep(POLL_MS);
  }
  say(`Still processing. Your order id is ${orderId}; reload this page later to see your tickets.`);
}

// --- Wiring ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  let config: Config;
  try {
    const response = await fetch(new URL("config.json", window.location.href), { cache: "no-store" });
    config = (await response.json()) as Config;
  } catch {
    showAlert("The shop is misconfigured (config.json is missing). Please try again later.");
    return;
  }
  const api = storefrontClient(config.apiBase);

  const resume = new URLSearchParams(window.location.search).get("order");
  if (resume) {
    await followOrder(api, resume);
    return;
  }

  await loadCatalog(api);
  $("catalog-rows").addEventListener("input", updateTotal);

  let order: OrderCreated | null = null;
  const orderButton = $<HTMLButtonElement>("order-submit");
  $("order-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearAlert();
    clearFieldErrors();
    const items = chosenItems();
    const phone = $<HTMLInputElement>("phone").value.trim();
    const body: OrderCreateInput = {
      customer: {
        email: $<HTMLInputElement>("email").value.trim(),
        name: $<HTMLInputElement>("name").value.trim(),
        ...(phone ? { phone } : {}),
      },
      items,
    };
    // Everything the page can tell before asking the API, said at once: each field's own
    // message beside it, one line on top counting them (not the same message twice).
    const problems = formProblems(body);
    if (Object.keys(problems).length > 0) {
      showFieldErrors(problems, items);
      const count = Object.keys(problems).length;
      showAlert(count === 1 ? "Please correct the field marked below." : `Please correct the ${count} fields marked below.`);
      return;
    }
    orderButton.disabled = true;
    say("Placing your order…");
    try {
      order = await createOrder(api, body);
      if (order && (await startPayment(config, order))) {
        say(`Order ${order.order_id} placed. Enter your card to pay.`);
        show("step-pay");
      } else if (!order) {
        say("");
      }
    } finally {
      orderButton.disabled = false;
    }
  });

  const payButton = $<HTMLButtonElement>("pay-submit");
  $("pay-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!order) return;
    clearAlert();
    payButton.disabled = true;
    say("Confirming your payment…");
    try {
      if (await confirmPayment(api, order.order_id)) {
        say("Payment sent. Waiting for confirmation…");
        await followOrder(api, order.order_id);
      } else {
        say("");
      }
    } finally {
      payButton.disabled = false;
    }
  });
}

void main();
