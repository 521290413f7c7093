/**
 * The typed client of the TicketsToHeaven storefront API.
 *
 * `schema.d.ts` is generated from the API's OpenAPI document (`openapi.json`, a copy of
 * `GET /schema`) by openapi-typescript; `make storefront-client` regenerates both, and a test
 * fails when either drifts from the API. Requests and answers are checked by TypeScript:
 *
 *   const api = storefrontClient("https://api.example.com");
 *   const { data, error, response } = await api.POST("/orders", {
 *     params: { header: { "Idempotency-Key": key } },
 *     body: { customer: { email, name }, items: [{ sku: "ga-2027", quantity: 2 }] },
 *   });
 *   if (error) switch (error.error.code) { case "sold_out": ...; case "rate_limited": ... }
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema";

type Schemas = components["schemas"];

export type { components, paths };
export type CatalogEntry = Schemas["CatalogEntry"];
export type OrderCreateInput = Schemas["OrderCreateInputRequest"];
export type OrderCreated = Schemas["OrderCreated"];
export type OrderPayment = Schemas["OrderPayment"];
export type OrderStatus = Schemas["OrderStatus"];
export type OrderState = Schemas["OrderStateEnum"];
export type IssuedTicket = Schemas["IssuedTicket"];
/** Every error body the API can answer has this shape; `code` is a closed set per answer. */
export type ApiError = { error: { code: string; message: string; fields?: Record<string, string[]> } };

export type StorefrontClient = Client<paths>;

/**
 * The API version this client is written for (the `API-Version` header): the deferred payment
 * flow. `POST /orders` holds the seats and answers `payment: null`; the Payment Element is
 * mounted with the order's `total_amount` and `currency`; at "Pay", `POST
 * /orders/{order_id}/payment` gives the client secret to confirm with.
 */
export const API_VERSION = "2026-12-07";

export function storefrontClient(baseUrl: string, fetchImpl?: typeof fetch): StorefrontClient {
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ""),
    headers: { Accept: "application/json", "API-Version": API_VERSION },
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

/** `Retry-After` in seconds (the API sends it on 429 and 503), or `fallback`. */
export function retryAfterSeconds(response: Response, fallback = 5): number {
  const value = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** States after which an order never changes by itself: stop polling. */
export const FINAL_STATES: ReadonlySet<OrderState> = new Set<OrderState>([
  "fulfilled",
  "fulfillment_failed",
  "canceled",
  "refunded",
  "partially_refunded",
]);
