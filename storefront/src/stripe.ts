/**
 * Stripe.js, loaded from the URL in config.json: https://js.stripe.com/v3/ in production (as
 * Stripe requires: never bundled), the local stand-in's Payment Element under `make dev`.
 */
import type { Stripe as StripeClient, StripeConstructor } from "@stripe/stripe-js";

let loading: Promise<StripeConstructor> | null = null;

export class StripeUnavailable extends Error {}

function loadScript(url: string): Promise<StripeConstructor> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.onload = () => {
      const Stripe = (window as unknown as { Stripe?: StripeConstructor }).Stripe;
      if (Stripe) resolve(Stripe);
      else reject(new StripeUnavailable("Stripe.js loaded but defined no Stripe()."));
    };
    script.onerror = () => reject(new StripeUnavailable(`Stripe.js could not be loaded from ${url}.`));
    document.head.appendChild(script);
  });
}

export async function stripeLoad(url: string, publishableKey: string): Promise<StripeClient> {
  loading ??= loadScript(url).catch((error: unknown) => {
    loading = null; // let a later attempt try again
    throw error;
  });
  const Stripe = await loading;
  return Stripe(publishableKey);
}
