"""The public verification page's own captcha: no third-party service, no state kept
between requests (docs/HUB.md, "Public verification").

A challenge is an image of 5 or 6 distorted characters from an alphabet without look-alikes
(no 0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G, 7/T), or, for those who cannot read the image, a small sum
asked in words. What the page carries back is a **token**::

    <id>.<expires>.<kind>.<mac>     mac = HMAC-SHA256(key, id | expires | kind | SHA-256(answer))

``key`` is derived from the service's secret (the same on every replica), so any replica
checks any token; the answer itself is in no token and in no store. A token is answered
once: its id goes into ``captcha_uses`` on the first attempt, right or wrong, so each
challenge gets a single guess and a replayed token is refused. Expired tokens are refused
before anything else. Old ``captcha_uses`` rows are purged now and then
(:meth:`Captchas.purge_due`): a row older than the lifetime names a token that has expired.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.store.hub_tables import captcha_uses

ALPHABET = "ACDEFHJKMNPRTUVWXY349"
LIFETIME = dt.timedelta(minutes=10)
IMAGE_SIZE = (240, 80)
MAX_TOKEN = 120
MAX_ANSWER = 20
_TOKEN = re.compile(r"^([0-9a-f]{32})\.([0-9]{10})\.(image|text)\.([A-Za-z0-9_-]{43})$")
_CONTEXT = b"origin-desk captcha 1"
_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve")
_random = secrets.SystemRandom()


class CaptchaRefused(UserFacingError):
    """The captcha was not answered as it must be; ``reason`` says how, for the page."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # missing | malformed | expired | used | wrong


@dataclass(frozen=True)
class Captcha:
    token: str
    kind: str  # image | text
    expires_at: dt.datetime
    image_png: bytes | None = None  # kind image
    question: str | None = None  # kind text

    @property
    def image_data_uri(self) -> str:
        assert self.image_png is not None
        return "data:image/png;base64," + base64.b64encode(self.image_png).decode("ascii")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalise_answer(answer: str) -> str:
    """What is compared: upper case, no spaces (people type ``k7 m3p`` for ``K7M3P``)."""
    return "".join(answer.split()).upper()


class Captchas:
    """Makes and checks the service's captchas.

    ``oracle``, when given, is told ``(token, answer)`` for every captcha made: the
    browser tests use it to answer as a person reading the image would. Production
    services never set it, and the page never shows the answer.
    """

    def __init__(self, secret: bytes, *, lifetime: dt.timedelta = LIFETIME,
                 clock: Callable[[], dt.datetime] = _utcnow,
                 oracle: Callable[[str, str], None] | None = None) -> None:
        if len(secret) < 16:
            raise ValueError("the captcha key needs the service's secret (32 bytes or more)")
        self._key = hmac.new(secret, _CONTEXT, hashlib.sha256).digest()
        self.lifetime = lifetime
        self.clock = clock
        self.oracle = oracle
        self._purged_at: dt.datetime | None = None

    # --- making ----------------------------------------------------------------------------

    def new(self, kind: str = "image") -> Captcha:
        if kind == "text":
            left, right = _random.randint(2, 9), _random.randint(1, 9)
            answer, question = str(left + right), (f"What is {_WORDS[left]} plus "
                                                   f"{_WORDS[right]}? Answer in digits.")
        else:
            kind = "image"
            answer = "".join(_random.choice(ALPHABET) for _ in range(_random.choice((5, 6))))
            question = None
        expires = self.clock().replace(microsecond=0) + self.lifetime
        token = self._token(secrets.token_hex(16), int(expires.timestamp()), kind, answer)
        if self.oracle is not None:
            self.oracle(token, answer)
        return Captcha(token=token, kind=kind, expires_at=expires,
                       image_png=draw_captcha(answer) if kind == "image" else None,
                       question=question)

    def _token(self, captcha_id: str, expires: int, kind: str, answer: str) -> str:
        return f"{captcha_id}.{expires}.{kind}.{self._mac(captcha_id, expires, kind, answer)}"

    def _mac(self, captcha_id: str, expires: int, kind: str, answer: str) -> str:
        answer_hash = hashlib.sha256(normalise_answer(answer).encode("utf-8")).hexdigest()
        message = f"{captcha_id}|{expires}|{kind}|{answer_hash}".encode("ascii")
        mac = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    # --- checking --------------------------------------------------------------------------

    @staticmethod
    def kind_of(token: str) -> str:
        """The kind of challenge a token was made for ("image" when unreadable)."""
        match = _TOKEN.match(token or "")
        return match.group(3) if match else "image"

    def check(self, session: Session, token: str, answer: str) -> None:
        """Pass, or raise CaptchaRefused. Any attempt at a well-formed, unexpired token
        uses it up (committed here, right or wrong)."""
        token, answer = (token or "").strip(), answer or ""
        if not normalise_answer(answer):
            raise CaptchaRefused("Type the characters shown in the image (or the answer to "
                                 "the question).", "missing")
        match = _TOKEN.match(token) if len(token) <= MAX_TOKEN else None
        if match is None:
            raise CaptchaRefused("The security check is damaged; answer the new one.",
                                 "malformed")
        captcha_id, expires, kind, mac = (match.group(1), int(match.group(2)), match.group(3),
                                          match.group(4))
        now = self.clock()
        if expires < now.timestamp():
            raise CaptchaRefused("The security check expired (they last "
                                 f"{int(self.lifetime.total_seconds() // 60)} minutes); "
                                 "answer the new one.", "expired")
        if expires > (now + self.lifetime + dt.timedelta(minutes=1)).timestamp():
            raise CaptchaRefused("The security check is damaged; answer the new one.",
                                 "malformed")
        if session.scalar(select(captcha_uses.c.captcha_id)
                          .where(captcha_uses.c.captcha_id == captcha_id)) is not None:
            raise CaptchaRefused("This security check was already used; answer the new one.",
                                 "used")
        try:
            session.execute(insert(captcha_uses).values(captcha_id=captcha_id, used_at=now))
            session.commit()
        except IntegrityError:  # another request used it at the same moment
            session.rollback()
            raise CaptchaRefused("This security check was already used; answer the new "
                                 "one.", "used") from None
        expected = self._mac(captcha_id, expires, kind, answer[:MAX_ANSWER])
        if len(answer) > MAX_ANSWER or not hmac.compare_digest(expected, mac):
            raise CaptchaRefused("The characters typed do not match the image; try the new "
                                 "one." if kind == "image" else
                                 "The answer to the question is not right; try the new one.",
                                 "wrong")
        self.purge_due(session, now)

    def purge_due(self, session: Session, now: dt.datetime | None = None,
                  every: dt.timedelta = dt.timedelta(minutes=5)) -> int:
        """Delete the uses of captchas that have expired anyway, at most once per
        ``every`` in this process; the number of rows deleted."""
        now = now or self.clock()
        if self._purged_at is not None and now - self._purged_at < every:
            return 0
        self._purged_at = now
        # one minute of margin for clocks of different replicas
        cutoff = now - self.lifetime - dt.timedelta(minutes=1)
        deleted = session.execute(delete(captcha_uses).where(captcha_uses.c.used_at < cutoff))
        session.commit()
        return int(deleted.rowcount or 0)


# --- the image -----------------------------------------------------------------------------

@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    from app.documents.countries import RESOURCES_DIR

    return ImageFont.truetype(str(RESOURCES_DIR / "fonts" / "DejaVuSansCondensed-Bold.ttf"),
                              size)


_INKS = ((20, 40, 90), (60, 30, 80), (20, 70, 60), (90, 40, 20), (30, 30, 30))


def draw_captcha(text: str) -> bytes:
    """A PNG of ``text``: each character its own size, tilt, height and ink, the row
    waved, crossed by curves and sprinkled with dots."""
    width, height = IMAGE_SIZE
    image = Image.new("RGB", (width, height), (246, 244, 236))
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # faint background curves
        _curve(draw, width, height, (200 + _random.randint(0, 30),) * 3, 1)
    step = (width - 24) / len(text)
    for index, char in enumerate(text):
        font = _font(_random.randint(32, 40))
        ink = _random.choice(_INKS)
        left, top, right, bottom = font.getbbox(char)
        tile = Image.new("L", (right - left + 16, bottom - top + 16), 0)
        ImageDraw.Draw(tile).text((8 - left, 8 - top), char, font=font, fill=255)
        tile = tile.rotate(_random.uniform(-22, 22), resample=Image.Resampling.BICUBIC,
                           expand=True)
        x = int(12 + index * step + _random.uniform(-3, 3) + (step - tile.width) / 2)
        y = int((height - tile.height) / 2 + _random.uniform(-6, 6))
        image.paste(Image.new("RGB", tile.size, ink), (x, y), tile)
    image = _wave(image)
    draw = ImageDraw.Draw(image)
    for _ in range(3):  # curves through the text, in the text's inks
        _curve(draw, width, height, _random.choice(_INKS), 2)
    for _ in range(220):
        x, y = _random.randrange(width), _random.randrange(height)
        shade = _random.randint(60, 190)
        draw.point((x, y), fill=(shade, shade, shade))
    image = image.filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _curve(draw: ImageDraw.ImageDraw, width: int, height: int, ink: tuple[int, ...],
           thickness: int) -> None:
    amplitude = _random.uniform(6, height / 3)
    phase, period = _random.uniform(0, math.tau), _random.uniform(width * 0.6, width * 1.6)
    base = _random.uniform(height * 0.25, height * 0.75)
    points = [(x, base + amplitude * math.sin(phase + math.tau * x / period))
              for x in range(0, width + 8, 8)]
    draw.line(points, fill=ink, width=thickness, joint="curve")


def _wave(image: Image.Image) -> Image.Image:
    """Shift each column up or down along a sine: the baseline is no longer straight."""
    width, height = image.size
    out = Image.new("RGB", image.size, (246, 244, 236))
    amplitude, period = _random.uniform(3, 6), _random.uniform(70, 140)
    phase = _random.uniform(0, math.tau)
    for x in range(0, width, 2):
        shift = int(amplitude * math.sin(phase + math.tau * x / period))
        column = image.crop((x, 0, x + 2, height))
        out.paste(column, (x, shift))
    return out
