"""Security headers on every response (what Flask-Talisman would set, without its extra
dependency): no framing, no MIME sniffing, and a Content Security Policy.

The policy fits what the pages use: our scripts and Flask-Admin's are files under /static
(no inline <script>); the operator panel's confirm() buttons and Flask-Admin's action menu are
inline event handlers, which ``script-src-attr`` allows without allowing inline <script>
blocks; Bootstrap and a few templates set inline styles.
"""

from flask import Flask

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
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
