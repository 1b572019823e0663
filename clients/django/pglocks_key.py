"""The lock id django-pglocks 2.x gives a string: the first 8 bytes of the
SHA-256 of its UTF-8 bytes, big-endian, signed.  It is advlock_named's key,
so advisory_lock("import") and named_lock_exclusive('import') are one lock."""
import hashlib


def pglocks_key(name: str) -> int:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
