#!/usr/bin/env python3
"""Verifies Pictor's webhook deliveries with the reference Standard Webhooks
library (`pip install standardwebhooks`), independently of Pictor's signer.

Reads JSON on stdin: {"secret": "whsec_…", "deliveries": [{"headers": {…},
"body": "…"}, …]}. Each delivery must verify, and must stop verifying once
its body or its timestamp is changed. Exits 0 when all is well, 1 on a
failed check, 3 when the library is not installed (the test then skips).
"""

import json
import sys

try:
    from standardwebhooks import Webhook, WebhookVerificationError
except ImportError:
    print("the Python package standardwebhooks is not installed (pip install standardwebhooks)", file=sys.stderr)
    sys.exit(3)


def rejects(webhook, body, headers):
    try:
        webhook.verify(body, headers)
    except WebhookVerificationError:
        return True
    return False


def main():
    request = json.load(sys.stdin)
    webhook = Webhook(request["secret"])
    for delivery in request["deliveries"]:
        headers, body = delivery["headers"], delivery["body"]
        try:
            payload = webhook.verify(body, headers)
        except WebhookVerificationError as e:
            print(f"delivery {headers.get('webhook-id')} does not verify: {e}", file=sys.stderr)
            return 1
        if not isinstance(payload, dict) or "type" not in payload:
            print(f"delivery {headers.get('webhook-id')} has no event type: {payload!r}", file=sys.stderr)
            return 1
        later = dict(headers, **{"webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)})
        if not rejects(webhook, body + " ", headers) or not rejects(webhook, body, later):
            print(f"delivery {headers.get('webhook-id')} verifies after tampering", file=sys.stderr)
            return 1
    print(f"verified {len(request['deliveries'])} deliveries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
