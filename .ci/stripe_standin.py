#!/usr/bin/env python3
"""A local stand-in for the few parts of Stripe the shop uses, for tests
(never for production): Python's standard library only.

    python3 .ci/stripe_standin.py --port 18999

API (requires `Authorization: Bearer sk_test_…`; answers shaped like Stripe's):
  POST /v1/payment_intents                form-encoded amount, currency,
                                          automatic_payment_methods[enabled],
                                          metadata[KEY]; honours Idempotency-Key
  GET  /v1/payment_intents/{id}
  POST /v1/payment_intents/{id}/confirm   -> status "succeeded"; the browser's
                                          publishable key (Bearer pk_test_…)
                                          with client_secret is accepted too,
                                          as with Stripe.js
Stripe.js stand-in:
  GET /v3/ or /v3/stripe.js               Stripe(pk).elements({clientSecret})
                                          .create('payment').mount(el), and
                                          stripe.confirmPayment({elements,
                                          redirect: 'if_required'})
Errors are Stripe-shaped: {"error": {"type", "message", "param"?}}.
"""

import argparse
import json
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


STRIPE_JS = r"""// Stand-in Stripe.js for tests: no card data goes anywhere.
(function () {
  var api = new URL(document.currentScript ? document.currentScript.src : location.href).origin;
  function Stripe(publishableKey) {
    if (!/^pk_(test|live)_/.test(publishableKey || "")) throw new Error("Stripe(): a publishable key pk_… is required");
    return {
      elements: function (options) {
        var clientSecret = (options || {}).clientSecret;
        if (!clientSecret) throw new Error("elements(): clientSecret is required");
        return {
          _clientSecret: clientSecret,
          create: function (type) {
            if (type !== "payment") throw new Error("the stand-in only has the 'payment' element");
            return {
              mount: function (target) {
                var el = typeof target === "string" ? document.querySelector(target) : target;
                el.innerHTML =
                  '<div class="stripe-standin" data-standin="payment-element">' +
                  '<label>Test card <input name="card" value="4242 4242 4242 4242" autocomplete="off"></label>' +
                  "</div>";
              },
            };
          },
        };
      },
      confirmPayment: function (options) {
        var clientSecret = options.elements._clientSecret;
        var id = clientSecret.split("_secret_")[0];
        return fetch(api + "/v1/payment_intents/" + id + "/confirm", {
          method: "POST",
          headers: {
            Authorization: "Bearer " + publishableKey,
            "Content-Type": "application/x-www-form-urlencoded",
          },
          body: "client_secret=" + encodeURIComponent(clientSecret),
        })
          .then(function (r) { return r.json(); })
          .then(function (body) {
            if (body.error) return { error: body.error };
            if (options.redirect !== "if_required" && options.confirmParams && options.confirmParams.return_url) {
              location.assign(options.confirmParams.return_url + "?payment_intent=" + body.id);
            }
            return { paymentIntent: { id: body.id, status: body.status } };
          });
      },
    };
  }
  window.Stripe = Stripe;
})();
"""


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.intents = {}
        self.idempotent = {}  # (secret key, Idempotency-Key) -> (form, intent id)


STORE = Store()


class StripeError(Exception):
    def __init__(self, status, message, param=None, kind="invalid_request_error", code=None):
        super().__init__(message)
        self.status, self.message, self.param, self.kind, self.code = status, message, param, kind, code


def form_fields(body):
    return dict(urllib.parse.parse_qsl(body, keep_blank_values=True))


def create_intent(fields):
    amount = fields.get("amount", "")
    if not amount.isdigit() or int(amount) < 1:
        raise StripeError(400, "Invalid positive integer", "amount")
    currency = fields.get("currency", "")
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise StripeError(400, "Invalid currency: %s. Stripe currencies are three lower-case letters." % currency, "currency")
    metadata = {}
    for key, value in fields.items():
        match = re.fullmatch(r"metadata\[(.+)\]", key)
        if match:
            metadata[match.group(1)] = value
        elif key not in ("amount", "currency", "automatic_payment_methods[enabled]", "description"):
            raise StripeError(400, "Received unknown parameter: %s" % key, key)
    pid = "pi_" + secrets.token_hex(12)
    return {
        "id": pid,
        "object": "payment_intent",
        "amount": int(amount),
        "amount_received": 0,
        "automatic_payment_methods": {"enabled": fields.get("automatic_payment_methods[enabled]") == "true"},
        "client_secret": "%s_secret_%s" % (pid, secrets.token_hex(12)),
        "created": int(time.time()),
        "currency": currency,
        "livemode": False,
        "metadata": metadata,
        "status": "requires_payment_method",
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Request-Id", "req_" + secrets.token_hex(8))
        self.end_headers()
        self.wfile.write(data)

    def fail(self, err):
        error = {"type": err.kind, "message": err.message}
        if err.param:
            error["param"] = err.param
        if err.code:
            error["code"] = err.code
        self.answer(err.status, {"error": error})

    def key(self, allowed=("sk_test_",)):
        auth = self.headers.get("Authorization", "")
        key = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        if not any(key.startswith(prefix) and len(key) > len(prefix) for prefix in allowed):
            raise StripeError(401, "Invalid API Key provided: the stand-in takes Bearer sk_test_…", kind="invalid_request_error")
        return key

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode()

    def do_OPTIONS(self):
        self.answer(204, b"", "text/plain")

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path in ("/v3", "/v3/", "/v3/stripe.js"):
                return self.answer(200, STRIPE_JS.encode(), "application/javascript; charset=utf-8")
            match = re.fullmatch(r"/v1/payment_intents/([A-Za-z0-9_]+)", path)
            if not match:
                raise StripeError(404, "Unrecognized request URL (GET: %s)." % path)
            self.key()
            with STORE.lock:
                intent = STORE.intents.get(match.group(1))
            if intent is None:
                raise StripeError(404, "No such payment_intent: '%s'" % match.group(1), "intent", code="resource_missing")
            self.answer(200, intent)
        except StripeError as err:
            self.fail(err)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self.body()
        try:
            if path == "/v1/payment_intents":
                return self.create(body)
            match = re.fullmatch(r"/v1/payment_intents/([A-Za-z0-9_]+)/confirm", path)
            if match:
                return self.confirm(match.group(1), form_fields(body))
            raise StripeError(404, "Unrecognized request URL (POST: %s)." % path)
        except StripeError as err:
            self.fail(err)

    def create(self, body):
        key = self.key()
        fields = form_fields(body)
        idempotency = self.headers.get("Idempotency-Key")
        with STORE.lock:
            if idempotency and (key, idempotency) in STORE.idempotent:
                earlier_fields, pid = STORE.idempotent[(key, idempotency)]
                if earlier_fields != fields:
                    raise StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                        kind="idempotency_error",
                    )
                return self.answer(200, STORE.intents[pid])
            intent = create_intent(fields)
            STORE.intents[intent["id"]] = intent
            if idempotency:
                STORE.idempotent[(key, idempotency)] = (fields, intent["id"])
        self.answer(200, intent)

    def confirm(self, pid, fields):
        key = self.key(("sk_test_", "pk_test_"))
        with STORE.lock:
            intent = STORE.intents.get(pid)
            if intent is None:
                raise StripeError(404, "No such payment_intent: '%s'" % pid, "intent", code="resource_missing")
            if key.startswith("pk_") and fields.get("client_secret") != intent["client_secret"]:
                raise StripeError(400, "The client_secret provided does not match this PaymentIntent.", "client_secret")
            if intent["status"] == "succeeded":
                raise StripeError(400, "This PaymentIntent has already succeeded.", code="payment_intent_unexpected_state")
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            self.answer(200, intent)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print("stripe stand-in on http://%s:%d" % (args.host, args.port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
