"""DLMS general-glo-ciphering (tag 0xDB): parse the envelope and decrypt it with AES-128-GCM."""

from __future__ import annotations

from dataclasses import dataclass, field

from node.meter.dlms.axdr import read_length
from node.meter.errors import (
    BadAuthenticationTag,
    MalformedFrame,
    MissingMeterKey,
    UnsupportedFrame,
    WrongMeterKey,
)

GENERAL_GLO_CIPHERING = 0xDB
DATA_NOTIFICATION = 0x0F
TAG_LENGTH = 12
_AUTHENTICATED = 0x10
_ENCRYPTED = 0x20
_COMPRESSED = 0x80
_BROADCAST_KEY = 0x40


@dataclass(frozen=True)
class MeterKeys:
    """The keys the grid operator gave for a meter. Never printed: repr hides them."""

    encryption_key: bytes = field(repr=False)
    authentication_key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name, key in (("encryption key", self.encryption_key), ("authentication key", self.authentication_key)):
            if key is not None and len(key) != 16:
                raise ValueError(f"the {name} must be 16 bytes (32 hex digits), not {len(key)}")

    @classmethod
    def from_hex(cls, encryption_key: str, authentication_key: str | None = None) -> "MeterKeys":
        """Keys from the hex strings an operator hands out (spaces allowed)."""
        try:
            return cls(
                bytes.fromhex(encryption_key.replace(" ", "")),
                bytes.fromhex(authentication_key.replace(" ", "")) if authentication_key else None,
            )
        except ValueError as error:
            raise ValueError(f"a meter key must be 32 hex digits: {error}") from None


@dataclass(frozen=True)
class CipheredApdu:
    """The parts of a general-glo-ciphering APDU; `tag` is empty when the frame is not authenticated."""

    system_title: bytes
    security_control: int
    frame_counter: int
    ciphertext: bytes
    tag: bytes

    @property
    def authenticated(self) -> bool:
        return bool(self.security_control & _AUTHENTICATED)

    @property
    def meter(self) -> str:
        """The system title as operators see it, with the manufacturer's FLAG id when it has one."""
        return describe_system_title(self.system_title)


def describe_system_title(system_title: bytes) -> str:
    """`4B464D1020000001 (KFM)`: the hex title, and its first three bytes when they are letters."""
    text = system_title.hex().upper()
    maker = system_title[:3]
    return f"{text} ({maker.decode()})" if len(maker) == 3 and maker.isalpha() and maker.isascii() else text


def apdu_length(buffer: bytes) -> int | None:
    """Total bytes of the general-glo-ciphering APDU at the start of `buffer`, None if not known yet."""
    if len(buffer) < 11:
        return None
    try:
        length, offset = read_length(buffer, 10)
    except MalformedFrame:
        return None if len(buffer) < 15 else -1
    return offset + length


def parse_ciphered(apdu: bytes) -> CipheredApdu:
    """Split a general-glo-ciphering APDU into title, security control, counter, ciphertext and tag."""
    if len(apdu) < 2 or apdu[0] != GENERAL_GLO_CIPHERING:
        raise UnsupportedFrame(f"not a general-glo-ciphering APDU (tag 0x{apdu[:1].hex()})")
    if apdu[1] != 8 or len(apdu) < 11:
        raise MalformedFrame("general-glo-ciphering needs an 8-byte system title")
    system_title = bytes(apdu[2:10])
    length, offset = read_length(apdu, 10)
    if offset + length != len(apdu):
        raise MalformedFrame(f"ciphered APDU says {length} bytes, {len(apdu) - offset} present")
    if length < 5:
        raise MalformedFrame("ciphered APDU too short for security control and frame counter")
    control = apdu[offset]
    counter = int.from_bytes(apdu[offset + 1 : offset + 5], "big")
    body = bytes(apdu[offset + 5 :])
    if control & _COMPRESSED or not control & _ENCRYPTED:
        raise UnsupportedFrame(f"security control 0x{control:02X} (only encrypted frames are decoded)")
    if control & _AUTHENTICATED:
        if len(body) < TAG_LENGTH:
            raise MalformedFrame("authenticated frame shorter than its 12-byte tag")
        return CipheredApdu(system_title, control, counter, body[:-TAG_LENGTH], body[-TAG_LENGTH:])
    return CipheredApdu(system_title, control, counter, body, b"")


def decrypt(frame: CipheredApdu, keys: MeterKeys | None) -> bytes:
    """The plaintext APDU. IV = system title ‖ frame counter; AAD = SC ‖ authentication key.

    Raises MissingMeterKey, WrongMeterKey (naming the meter) or BadAuthenticationTag.
    """
    from Crypto.Cipher import AES

    if keys is None:
        raise MissingMeterKey(f"meter {frame.meter} sends encrypted frames: give its key (--key)")
    nonce = frame.system_title + frame.frame_counter.to_bytes(4, "big")
    cipher = AES.new(keys.encryption_key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_LENGTH)
    if not frame.authenticated:
        plaintext = cipher.decrypt(frame.ciphertext)
        if not looks_like_plaintext(plaintext):
            raise WrongMeterKey(f"frame from meter {frame.meter} does not decrypt with the configured key")
        return plaintext
    if keys.authentication_key is None:
        raise MissingMeterKey(
            f"meter {frame.meter} authenticates its frames (SC 0x{frame.security_control:02X}): "
            "give its authentication key (--auth-key)"
        )
    cipher.update(bytes([frame.security_control]) + keys.authentication_key)
    plaintext = cipher.decrypt(frame.ciphertext)
    try:
        cipher.verify(frame.tag)
    except ValueError:
        # GCM decrypts with a counter stream, so the right encryption key still yields a
        # recognisable APDU even when the tag fails: that separates a wrong key from a bad tag.
        if looks_like_plaintext(plaintext):
            raise BadAuthenticationTag(
                f"frame from meter {frame.meter} fails its authentication tag: "
                "wrong authentication key, or the frame was altered"
            ) from None
        raise WrongMeterKey(f"frame from meter {frame.meter} does not decrypt with the configured key") from None
    return plaintext


def looks_like_plaintext(plaintext: bytes) -> bool:
    """Whether decrypted bytes start like something a meter sends: a DataNotification (tag, invoke
    id, then an absent, tagged or 12-byte date-time) or a DSMR header (`/` and three letters).

    Several bytes are checked so that a wrong key passes for a right one about once in 10^4 frames.
    """
    if plaintext[:1] == bytes([DATA_NOTIFICATION]):
        return len(plaintext) > 6 and plaintext[5] in (0x00, 0x09, 0x0C)
    return plaintext[:1] == b"/" and plaintext[1:4].isalpha() and plaintext[1:4].isascii()
