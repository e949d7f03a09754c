"""A real OpenID Connect provider for the OIDC sign-in tests, on 127.0.0.1.

PyPI's oidc-provider-mock (any client id, any redirect URI; its authorize
page is a form: type a subject, press Authorize, or press Deny), wrapped so
that it also enforces PKCE, which the mock itself does not check: the
authorization request must carry an S256 `code_challenge`, and the token
request the `code_verifier` that hashes to it (RFC 7636). Public clients
(a client id and no secret: PKCE alone) are accepted as well.

    python3 .ci/oidc_provider.py PORT

Started by .ci/services.sh, which exports PICTOR_TEST_OIDC_ISSUER.
"""

import base64
import hashlib
import io
import json
import sys
import threading
import urllib.parse

import oidc_provider_mock
import oidc_provider_mock._app
import werkzeug.serving

# The mock takes confidential clients only; let public ones in too.
oidc_provider_mock._app.AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "none",
]


def _reply(start_response, status, body, content_type="application/json"):
    data = body.encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def _s256(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _first(values, name):
    return values.get(name, [""])[0]


class RequirePkce:
    """Remembers each issued code's challenge; checks the verifier."""

    def __init__(self, app):
        self.app = app
        self.challenges = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/authorize":
            return self.authorize(environ, start_response)
        if path == "/oauth2/token" and environ["REQUEST_METHOD"] == "POST":
            return self.token(environ, start_response)
        return self.app(environ, start_response)

    def authorize(self, environ, start_response):
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        challenge = _first(query, "code_challenge")
        if not challenge or _first(query, "code_challenge_method") != "S256":
            return _reply(start_response, "400 Bad Request", "PKCE with S256 is required", "text/plain")

        def remember(status, headers, exc_info=None):
            for name, value in headers:
                if name.lower() == "location":
                    answer = urllib.parse.parse_qs(urllib.parse.urlsplit(value).query)
                    code = _first(answer, "code")
                    if code:
                        with self.lock:
                            self.challenges[code] = challenge
            return start_response(status, headers, exc_info)

        return self.app(environ, remember)

    def token(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        form = urllib.parse.parse_qs(body.decode())
        if _first(form, "grant_type") == "authorization_code":
            with self.lock:
                challenge = self.challenges.pop(_first(form, "code"), None)
            verifier = _first(form, "code_verifier")
            if not challenge or not verifier or _s256(verifier) != challenge:
                error = {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                return _reply(start_response, "400 Bad Request", json.dumps(error))
        return self.app(environ, start_response)


def main():
    port = int(sys.argv[1])
    app = RequirePkce(oidc_provider_mock.app())
    werkzeug.serving.make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
