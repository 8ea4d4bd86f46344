"""Security headers on every response (what Flask-Talisman would set, without its extra
dependency): no framing, no MIME sniffing, and a Content Security Policy.

The policy fits what the pages use: our scripts and Flask-Admin's are files under /static
(no inline <script>); the operator panel's confirm() buttons and Flask-Admin's action menu are
inline event handlers, which ``script-src-attr`` allows without allowing inline <script>
blocks (moving them into a script file would let us drop it); Bootstrap and a few templates set inline styles.
"""

import base64
import hashlib

from flask import Flask

# Flask-Admin's menus and pagers are <a href="javascript:void(0)">; with 'unsafe-hashes' Chromium
# matches a javascript: link by the hash of the whole URL, so only this exact one may run.
VOID_LINK_HASH = "sha256-" + base64.b64encode(hashlib.sha256(b"javascript:void(0)").digest()).decode()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' 'unsafe-hashes' '{VOID_LINK_HASH}'",
        "script-src-attr 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    headers = dict(HEADERS)
    if app.config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS only
        headers["Strict-Transport-Security"] = HSTS

    @app.after_request
    def add_security_headers(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
