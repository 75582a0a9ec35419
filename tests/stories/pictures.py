"""Test pictures made on the fly: a JPEG carrying the EXIF a phone camera would add, GPS position included."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from PIL import Image

CAMERA = "SpyCam 3000"
GPS_IFD = 0x8825


def jpeg_with_exif(size: tuple[int, int] = (64, 48)) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0112] = 6  # Orientation: rotated; the clean copy must come out upright
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (51.0, 30.0, 26.0)
    gps[3], gps[4] = "W", (0.0, 7.0, 39.0)
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(client: FlaskClient, data: bytes, content_type: str = "image/jpeg") -> str:
    """Ask for a presigned form and post the file to it, as a browser would; returns the upload key."""
    form = client.post("/api/stories/photo-uploads", json={}).json
    url = urlsplit(form["url"])
    fields = dict(form["fields"])
    fields.setdefault("Content-Type", content_type)
    fields["file"] = (io.BytesIO(data), "photo.jpg", content_type)
    posted = client.post(f"{url.path}?{url.query}", data=fields, content_type="multipart/form-data")
    assert posted.status_code == 204, posted.get_data(as_text=True)
    return str(form["key"])
