"""Field and point facts about edwards25519 that the verification policy needs (RFC 8032 5.1).

Only what the policy must decide itself lives here: whether a 32-byte encoding is canonical,
whether it names a point of small order, whether it decodes at all, and the birational map to
Curve25519. The group equation itself is left to libsodium.
"""

from __future__ import annotations

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inverse(value: int) -> int:
    return pow(value, P - 2, P)


def _sqrt(value: int) -> int | None:
    """Return a square root of ``value`` mod P, or None when it is not a square."""
    root = pow(value, (P + 3) // 8, P)
    if (root * root - value) % P == 0:
        return root
    root = root * SQRT_M1 % P
    if (root * root - value) % P == 0:
        return root
    return None


def split_encoding(encoding: bytes) -> tuple[int, int]:
    """Split a 32-byte point encoding into (y, sign bit of x), without any validation."""
    number = int.from_bytes(encoding, "little")
    return number & ((1 << 255) - 1), number >> 255


def encode_point(x: int, y: int) -> bytes:
    """Encode an affine point canonically: y little-endian, the low bit of x in the top bit."""
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def is_canonical_encoding(encoding: bytes) -> bool:
    """Tell whether an encoding is the one canonical spelling of its point.

    Non-canonical spellings are y >= p, and x = 0 (y = 1 or y = p - 1) with the sign bit set.
    """
    y, sign = split_encoding(encoding)
    if y >= P:
        return False
    return not (sign and y in (1, P - 1))


def decode_point(encoding: bytes) -> tuple[int, int] | None:
    """Decode a point per RFC 8032 5.1.3, or return None when it is not on the curve."""
    y, sign = split_encoding(encoding)
    if y >= P:
        return None
    y_squared = y * y % P
    x_squared = (y_squared - 1) * _inverse(D * y_squared + 1) % P
    x = _sqrt(x_squared)
    if x is None:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y


def _small_order_points() -> list[tuple[int, int]]:
    """Compute the eight points whose order divides 8 (the torsion subgroup)."""
    points = [(0, 1), (0, P - 1), (SQRT_M1, 0), (P - SQRT_M1, 0)]
    # A point of order 8 doubles to (+-sqrt(-1), 0): y(2P) = 0 means x^2 = -y^2, and the curve
    # equation then gives d*y^4 + 2*y^2 - 1 = 0, so y^2 = (-1 +- sqrt(1 + d)) / d.
    root = _sqrt((1 + D) % P)
    assert root is not None  # noqa: S101 - 1 + d is a square for edwards25519
    for y_squared in ((-1 + root) * _inverse(D) % P, (-1 - root) * _inverse(D) % P):
        y = _sqrt(y_squared)
        if y is None:
            continue
        for signed_y in (y, P - y):
            x = _sqrt((-signed_y * signed_y) % P)
            if x is None:
                continue
            points.extend([(x, signed_y), (P - x, signed_y)])
    return points


SMALL_ORDER_POINTS: tuple[tuple[int, int], ...] = tuple(_small_order_points())
SMALL_ORDER_ENCODINGS: frozenset[bytes] = frozenset(
    encode_point(x, y) for x, y in SMALL_ORDER_POINTS
)


def montgomery_u_from_edwards_y(y: int) -> int:
    """Map an edwards25519 y to Curve25519's u = (1 + y) / (1 - y) (RFC 7748 section 4.1)."""
    return (1 + y) * _inverse((1 - y) % P) % P
