"""The simulator's browser pages (Visma Connect login and consent, App Store permissions)."""

from __future__ import annotations

from flask import render_template_string

_LAYOUT = """<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} – Visma.net simulator</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f4f6f8;
       color: #252626; margin: 0; }
header { background: #1b3a57; color: #fff; padding: .8rem 1.5rem; display: flex;
         justify-content: space-between; align-items: center; }
header a { color: #fff; }
.sim { background: #ffd54f; color: #3e2d00; font-size: .85rem; padding: .25rem .6rem;
       border-radius: 3px; }
main { max-width: 40rem; margin: 2rem auto; background: #fff; padding: 2rem;
       border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { font-size: 1.4rem; margin-top: 0; }
h2 { font-size: 1.05rem; margin-bottom: .3rem; }
label { display: block; margin: .8rem 0 .2rem; font-weight: 600; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: .5rem;
       box-sizing: border-box; border: 1px solid #b0b7bf; border-radius: 4px; }
button { padding: .55rem 1.2rem; border-radius: 4px; border: 1px solid #1b3a57;
         background: #fff; color: #1b3a57; font-size: 1rem; cursor: pointer; margin-right: .5rem; }
button.primary { background: #1b7f3b; border-color: #1b7f3b; color: #fff; }
.error { background: #fdecea; color: #8a1c12; padding: .6rem; border-radius: 4px; }
.notice { background: #e8f4fd; color: #0b4a75; padding: .6rem; border-radius: 4px; }
.muted { color: #5f6b76; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: .45rem; border-bottom: 1px solid #e1e5e9; }
.logo { display: inline-block; width: 2.2rem; height: 2.2rem; border-radius: 50%;
        background: #1b7f3b; color: #fff; text-align: center; line-height: 2.2rem;
        font-weight: 700; margin-right: .6rem; }
</style>
</head>
<body>
<header><strong>{{ brand }}</strong>
<span class="sim" title="Not the real Visma.net: a local simulator for development and tests">
Simulator</span></header>
<main>
"""

_END = "</main></body></html>"


def render(body: str, title: str, brand: str = "Visma Connect", lang: str = "en", **context) -> str:
    """Render body (a Jinja template) inside the shared layout."""
    return render_template_string(_LAYOUT + body + _END, title=title, brand=brand, lang=lang,
                                  **context)


LOGIN = """
<h1>Sign in to Visma</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="{{ url_for('identity.login') }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input type="hidden" name="next" value="{{ next }}">
  <label for="email">Email</label>
  <input type="email" id="email" name="email" value="{{ email }}" autocomplete="username" required>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <p><button class="primary" type="submit">Sign in</button></p>
</form>
<h2>Simulated Visma users</h2>
<table>
  <tr><th>Email</th><th>Name</th><th>Companies</th><th></th></tr>
  {% for user in users %}
  <tr><td>{{ user.email }}</td><td>{{ user.name }}</td><td>{{ user.companies|join(", ") }}</td>
    <td><form method="post" action="{{ url_for('identity.login') }}">
      <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
      <input type="hidden" name="next" value="{{ next }}">
      <input type="hidden" name="email" value="{{ user.email }}">
      <input type="hidden" name="password" value="{{ user.password }}">
      <button type="submit">Sign in as {{ user.name }}</button></form></td></tr>
  {% endfor %}
</table>
<p class="muted">The demo users' password is <code>visma-demo</code>.</p>
"""

CONSENT = """
<p><span class="logo">{{ app.name[:1] }}</span><strong>{{ app.name }}</strong></p>
<h1>{{ app.name }} would like to get access to:</h1>
<h2>Your user account information</h2>
<ul>
  {% if "profile" in scopes %}<li>Profile information (firstname, lastname)</li>{% endif %}
  {% if "email" in scopes %}<li>Email address</li>{% endif %}
  <li>User identifier</li>
</ul>
{% if erp %}
  {% for company in companies %}
  <h2>Organization data for {{ company.name }}</h2>
  <ul><li>reading items</li></ul>
  {% else %}
  <p class="notice">None of your organizations has granted {{ app.name }} permissions yet.
  An Integration Administrator grants them in <a href="{{ url_for('identity.appstore') }}">Visma
  App Store</a>.</p>
  {% endfor %}
{% endif %}
<p class="muted">By clicking accept you allow {{ app.name }} to use your data in accordance with
their <a href="#">Terms of service</a> and <a href="#">Privacy policy</a>. You can remove
authorization at any time by going to your <a href="#">Account settings</a>.</p>
<p class="muted">Are you not {{ user.name }} ({{ user.email }})?
<a href="{{ url_for('identity.logout', next=authorize_url) }}">Sign out now</a></p>
<form method="post" action="{{ url_for('identity.authorize') }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  {% for name, value in params.items() %}
  <input type="hidden" name="{{ name }}" value="{{ value }}">
  {% endfor %}
  <button class="primary" type="submit" name="decision" value="accept">Accept</button>
  <button type="submit" name="decision" value="cancel">Cancel</button>
</form>
"""

ERROR = """
<h1>{{ heading }}</h1>
<p class="error" role="alert">{{ message }}</p>
"""

APPSTORE = """
<p><span class="logo">S</span><strong>{{ app.name }}</strong> · Integration with Visma NXT and
Visma.Net av Sticos AS</p>
{% if saved %}<p class="notice" role="status">Tillatelsene er lagret.</p>{% endif %}
<h1>Angi tillatelser</h1>
<p>Applikasjonen <strong>{{ app.name }}</strong> ønsker følgende tillatelser for å få tilgang til
data fra organisasjonen din. Du kan når som helst gi eller tilbakekalle disse tillatelsene.</p>
<form method="post" action="{{ url_for('identity.appstore', app=app.client_id) }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input type="hidden" name="step" value="integrer">
  <table>
    <tr><th>Organisasjon</th><th>Visma.net ERP Service API: Reading items</th></tr>
    {% for company in companies %}
    <tr><td>{{ company.name }} <span class="muted">({{ company.corporate_id }})</span></td>
      <td><label style="font-weight:normal;margin:0">
        <input type="checkbox" name="tenant" value="{{ company.tenant_id }}"
          {% if app.client_id in company.approved %}checked{% endif %}>
        {% if app.client_id in company.approved %}ON{% else %}OFF{% endif %}</label></td></tr>
    {% else %}
    <tr><td colspan="2">Du har ingen organisasjoner.</td></tr>
    {% endfor %}
  </table>
  <p><button class="primary" type="submit">Integrer</button>
  <a href="{{ url_for('identity.appstore', app=app.client_id) }}"><button type="button">Avbryt
  </button></a></p>
</form>
<p class="muted">Innlogget som {{ user.name }} ({{ user.email }}) ·
<a href="{{ url_for('identity.logout', next=url_for('identity.appstore')) }}">Logg ut</a></p>
"""

APPSTORE_CONFIRM = """
<h1>Bekreft tillatelser for {{ app.name }}</h1>
<ul>
{% for company in companies %}
  <li>{{ company.name }}: Reading items
  <strong>{% if company.tenant_id in selected %}ON{% else %}OFF{% endif %}</strong></li>
{% endfor %}
</ul>
<form method="post" action="{{ url_for('identity.appstore', app=app.client_id) }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input type="hidden" name="step" value="aksepter">
  {% for tenant in selected %}<input type="hidden" name="tenant" value="{{ tenant }}">{% endfor %}
  <button class="primary" type="submit">Aksepter</button>
  <a href="{{ url_for('identity.appstore', app=app.client_id) }}"><button type="button">Avbryt
  </button></a>
</form>
"""

HOME = """
<h1>Visma.net simulator</h1>
<p>A local stand-in for Visma Connect and the Visma.net ERP API, for development and tests.</p>
<ul>
  <li><a href="{{ url_for('identity.discovery') }}">OpenID configuration</a></li>
  <li><a href="{{ url_for('identity.login') }}">Sign in</a> as a simulated Visma user</li>
  <li><a href="{{ url_for('identity.appstore') }}">Visma App Store: Angi tillatelser</a></li>
  <li><a href="{{ url_for('control.tenants') }}">Control API: tenants</a></li>
</ul>
"""
