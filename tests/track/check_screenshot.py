#!/usr/bin/python3
"""Checks that a screenshot of a stitch report shows charts: decodes the PNG with zlib alone
(8-bit RGB or RGBA, not interlaced, as Chromium writes them) and counts saturated pixels. Text
and grid lines are black or grey; only the charts' lines, bands and bars are coloured.

    check_screenshot.py FILE.png   prints the pixel counts; exits 1 when no charts are visible
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    at, idat, width = 8, b"", None
    while at < len(data):
        (length,) = struct.unpack_from(">I", data, at)
        kind = data[at + 4:at + 8]
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows


def main(path):
    width, height, channels, rows = decode(path)
    coloured = dark = 0
    for line in rows:
        for x in range(0, width * channels, channels * 2):  # every other pixel is plenty
            r, g, b = line[x], line[x + 1], line[x + 2]
            if max(r, g, b) - min(r, g, b) > 60:
                coloured += 1
            elif max(r, g, b) < 100:
                dark += 1
    sampled = width * height // 2
    print(f"{width}x{height}: {coloured} coloured and {dark} dark of {sampled} sampled pixels")
    # Charts: at least 0.3% coloured pixels; text: at least 0.3% dark ones.
    return 0 if coloured > 0.003 * sampled and dark > 0.003 * sampled else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
