"""Where a login may send the browser next: a path on this site, never anywhere else."""

from urllib.parse import urlsplit

# Browsers drop tabs and newlines anywhere in a URL and read "\" as "/" (WHATWG URL standard),
# so "/\t/evil.example" is "//evil.example" to them; a header cannot carry them either.
_UNSAFE_CHARACTERS = {chr(c) for c in range(0x20)} | {"\x7f", "\\"}


def safe_next_path(target: str | None) -> str | None:
    """The target if it is a path on this site ("/…", no scheme, no host); None otherwise.

    Modelled on Django's ``url_has_allowed_host_and_scheme`` with no allowed hosts: the check
    is made on what a browser would make of the string, not on its first characters.
    """
    if not target or len(target) > 2000 or _UNSAFE_CHARACTERS & set(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if target.startswith("//"):  # "///evil.example" has no netloc here but is a host to browsers
        return None
    return target
