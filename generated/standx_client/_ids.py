# Copied from overlays/_ids.py by `make generate`. Do not edit here: edit overlays/_ids.py.
"""Client order ids: ULIDs, the format the exchange itself uses (26 Crockford base32 characters).

Time-ordered (48-bit millisecond time first) and unique: within one millisecond the random part is
incremented, so ids from one process sort in creation order.
"""

from __future__ import annotations

import base64
import os
import threading
import time

# RFC 4648 base32 -> Crockford's alphabet. 160 bits encode to 32 characters, 5 bits each from the top, so
# the last 26 characters of a 20-byte big-endian encoding are exactly the ULID's 130 bits.
_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def new_client_order_id() -> str:
    global _last_ms, _last_random
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:  # same millisecond (or the clock stepped back): keep order by incrementing
            now = _last_ms
            _last_random = (_last_random + 1) % (1 << 80)
        else:
            _last_random = int.from_bytes(os.urandom(10), "big")
        _last_ms = now
        value = (now << 80) | _last_random
    return base64.b32encode(value.to_bytes(20, "big")).decode("ascii")[6:].translate(_CROCKFORD)
