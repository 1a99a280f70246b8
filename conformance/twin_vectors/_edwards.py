"""Just enough edwards25519 arithmetic to build the Ed25519 edge cases the vectors need.

Non-canonical encodings, points of small and mixed order, and signatures that satisfy only the
cofactored equation cannot be made through a signing API; they are built here, in plain
Python (RFC 8032 section 5.1), and their verdicts are then taken from the spec core.
"""

from __future__ import annotations

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]
"""A point in extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z."""

IDENTITY: Point = (0, 1, 1, 0)


def _recover_x(y: int, sign: int) -> int | None:
    """The x of the point with this y and sign bit (RFC 8032 5.1.3), or None."""
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * _SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


def from_affine(x: int, y: int) -> Point:
    """The extended form of an affine point."""
    return (x % P, y % P, 1, x * y % P)


def decode(encoding: bytes) -> Point | None:
    """Decode a 32-byte encoding (y below p required), or None when no point has it."""
    number = int.from_bytes(encoding, "little")
    y, sign = number & ((1 << 255) - 1), number >> 255
    x = _recover_x(y, sign)
    return None if x is None else from_affine(x, y)


def encode(point: Point) -> bytes:
    """The canonical encoding of a point."""
    x_, y_, z, _ = point
    inverse = pow(z, P - 2, P)
    x, y = x_ * inverse % P, y_ * inverse % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def add(first: Point, second: Point) -> Point:
    """The sum of two points (the complete twisted Edwards formula, a = -1)."""
    x1, y1, z1, t1 = first
    x2, y2, z2, t2 = second
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def negate(point: Point) -> Point:
    """The inverse of a point."""
    x, y, z, t = point
    return (-x % P, y, z, -t % P)


def multiply(scalar: int, point: Point) -> Point:
    """``scalar`` times ``point`` (double and add; speed does not matter here)."""
    result = IDENTITY
    addend = point
    while scalar > 0:
        if scalar & 1:
            result = add(result, addend)
        addend = add(addend, addend)
        scalar >>= 1
    return result


def equal(first: Point, second: Point) -> bool:
    """Whether two extended points are the same point."""
    return (first[0] * second[2] - second[0] * first[2]) % P == 0 and (
        first[1] * second[2] - second[1] * first[2]
    ) % P == 0


_BASE_Y = 4 * pow(5, P - 2, P) % P
BASE = from_affine(_recover_x(_BASE_Y, 0) or 0, _BASE_Y)


def torsion_point_of_order_8() -> Point:
    """A point of order 8: [L] times a curve point whose torsion part has order 8."""
    y = 2
    while True:
        candidate = decode(y.to_bytes(32, "little"))
        y += 1
        if candidate is None:
            continue
        torsion = multiply(L, candidate)
        if not equal(multiply(4, torsion), IDENTITY):
            return torsion


def small_order_encodings() -> list[bytes]:
    """The canonical encodings of the eight points whose order divides 8."""
    generator = torsion_point_of_order_8()
    return sorted({encode(multiply(index, generator)) for index in range(8)})


def secret_scalar(seed: bytes) -> tuple[int, bytes]:
    """The clamped secret scalar of a seed and the nonce prefix (RFC 8032 5.1.5)."""
    digest = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(digest[:32], "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    return scalar, digest[32:]


def challenge(r_encoding: bytes, a_encoding: bytes, message: bytes) -> int:
    """K = SHA-512(R || A || M) mod L."""
    return int.from_bytes(hashlib.sha512(r_encoding + a_encoding + message).digest(), "little") % L


def sign_with(
    scalar: int, a_encoding: bytes, nonce: int, message: bytes, *, r_offset: Point = IDENTITY
) -> bytes:
    """A signature with nonce ``nonce`` whose R is moved by ``r_offset`` before hashing.

    With an offset of small order the result satisfies only the cofactored equation.
    """
    r_point = add(multiply(nonce, BASE), r_offset)
    r_encoding = encode(r_point)
    s = (nonce + challenge(r_encoding, a_encoding, message) * scalar) % L
    return r_encoding + s.to_bytes(32, "little")
